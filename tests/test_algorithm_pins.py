"""Pins of the WGAN-GP algorithm: each test fails if one piece of the method is changed.

Interpolates and gradient penalty, the critic and generator objectives and the
direction of their updates, n_critic critic updates (each on a new real batch)
per generator update, the generator batch size, the linear learning-rate
decay, mode coverage's high-quality filter and the 10-split Inception Score.
Every expected value is computed here by hand from the raw inputs.
"""

import numpy as np
import paddle
import ppsci
import pytest

from ppsci_ext.arch import GAN, ToyCritic, ToyGenerator
from ppsci_ext.data import toy_arrays
from ppsci_ext.loss import WGANGPLoss
from ppsci_ext.metric import PROTOCOL, InceptionMetrics, ToyMetric, inception_score, mode_coverage
from ppsci_ext.solver import AdversarialSolver, adversarial_epoch
from ppsci_ext.solver import builders

WIDTH = 16
LR = 1e-3
NUM_SAMPLES = 512
DATA_SEED = 0


def make_solver(tmp_path, n_critic=3, iters=4, epochs=1, batch_size=16, generator_batch_size=None, gp_lambda=10.0,
                decay=0):
    """A tiny toy WGAN-GP solver (the only user of ``setup``'s builders in this file)."""
    paddle.seed(0)
    model = GAN(ToyGenerator(width=WIDTH), ToyCritic(width=WIDTH))
    objective = WGANGPLoss(gp_lambda)
    constraint = builders.real_data_constraint(toy_arrays("8gaussians", NUM_SAMPLES, DATA_SEED), batch_size, objective)
    return AdversarialSolver(
        model, constraint, ppsci.loss.FunctionalLoss(objective.generator),
        builders.build_optimizer(model.generator.parameters(), LR, 0.5, 0.9, decay),
        builders.build_optimizer(model.critic.parameters(), LR, 0.5, 0.9, decay),
        output_dir=str(tmp_path), epochs=epochs, iters_per_epoch=iters, n_critic=n_critic,
        generator_batch_size=generator_batch_size, log_freq=1, experiment="toy",
    )


# --- helpers ------------------------------------------------------------------------------------------


def copy_of(layer, cls):
    """A frozen copy of a toy network (same weights), to evaluate the pre-update network after a step."""
    twin = cls(width=WIDTH)
    twin.set_state_dict({k: paddle.to_tensor(v.numpy()) for k, v in layer.state_dict().items()})
    return twin


def weights(layer):
    return {k: v.numpy().copy() for k, v in layer.named_parameters()}


def fix_noise(monkeypatch, solver, rows=256, seed=3):
    """Make ``solver.sample_noise`` return the first n rows of one fixed noise array; returns it and the log of n."""
    z = paddle.to_tensor(np.random.default_rng(seed).standard_normal((rows, 2)).astype("float32"))
    asked = []

    def sample_noise(n, labels=None):
        asked.append(n)
        return {"z": z[:n]}

    monkeypatch.setattr(solver, "sample_noise", sample_noise)
    return z, asked


def capture_critic_outputs(monkeypatch, solver):
    """Record the output dict that the critic objective receives at each critic step."""
    seen = []
    loss = solver.critic_constraint.loss

    def recording_loss(output_dict, label_dict=None, *args, **kwargs):
        seen.append(output_dict)
        return loss(output_dict, label_dict, *args, **kwargs)

    monkeypatch.setattr(solver.critic_constraint, "loss", recording_loss)
    return seen


def scores(critic, x):
    return critic({"x": paddle.to_tensor(x)})["score"].numpy()[:, 0].astype(np.float64)


def penalty_by_hand(critic, x_np):
    """mean over samples of (||dD/dx||_2 - 1)^2, the gradient taken with paddle.grad."""
    x = paddle.to_tensor(x_np, stop_gradient=False)
    (grad,) = paddle.grad(critic({"x": x})["score"].sum(), x)
    norms = np.linalg.norm(grad.numpy().astype(np.float64).reshape(len(x_np), -1), axis=1)
    return float(np.mean((norms - 1.0) ** 2))


def assert_adam_first_step_descends(before, after, grads):
    """A first Adam step moves every weight with a clear gradient by -lr * sign(gradient)."""
    checked = 0
    for name, g in grads.items():
        delta = after[name].astype(np.float64) - before[name]
        clear = np.abs(g) > 1e-4
        np.testing.assert_allclose(delta[clear], -LR * np.sign(g[clear]), rtol=2e-3, err_msg=name)
        checked += int(clear.sum())
    assert checked > 50  # the comparison covered many weights


# --- (1) interpolates and gradient penalty ------------------------------------------------------------


EPS = np.array([0.25, 0.7, 0.05, 0.95, 0.5, 0.33, 0.8, 0.1])


def test_interpolates_follow_eps_real_plus_one_minus_eps_fake(tmp_path, monkeypatch):
    """x_interp = eps * real + (1 - eps) * fake with one eps per sample from sample_eps; GP and critic loss on it."""
    gp_lambda = 10.0
    solver = make_solver(tmp_path, batch_size=len(EPS), gp_lambda=gp_lambda)
    z, _ = fix_noise(monkeypatch, solver)
    shapes = []

    def fixed_eps(shape, dtype):
        shapes.append(list(shape))
        return paddle.to_tensor(EPS.reshape(shape), dtype=dtype)

    monkeypatch.setattr(solver, "sample_eps", fixed_eps)
    seen = capture_critic_outputs(monkeypatch, solver)
    inputs, labels = solver.next_real_batch()
    n = len(EPS)
    real = inputs["x"].numpy().astype(np.float64)
    with paddle.no_grad():
        fake = solver.model.generator({"z": z[:n]})["x"].numpy().astype(np.float64)
    assert np.abs(real - fake).min() > 1e-3  # real and fake differ, so each eps is visible
    critic0 = copy_of(solver.model.critic, ToyCritic)

    losses = solver.critic_step(inputs, labels)

    assert shapes == [[n, 1]]  # one weight per sample, broadcast over the coordinates
    assert len(seen) == 1
    expected = EPS[:, None] * real + (1.0 - EPS[:, None]) * fake
    np.testing.assert_allclose(seen[0]["x_interp"].numpy(), expected, rtol=1e-6, atol=1e-6)
    # the penalty is taken on exactly these points, with the critic before its update
    gp = penalty_by_hand(critic0, expected.astype("float32"))
    assert float(losses["gradient_penalty"]) == pytest.approx(gp, rel=1e-5, abs=1e-7)
    d_real, d_fake = scores(critic0, real.astype("float32")).mean(), scores(critic0, fake.astype("float32")).mean()
    assert abs(d_fake - d_real) > 1e-3  # a flipped sign would show
    assert float(losses["wasserstein"]) == pytest.approx(d_real - d_fake, rel=1e-5, abs=1e-6)
    assert float(losses["critic_loss"]) == pytest.approx(d_fake - d_real + gp_lambda * gp, rel=1e-5, abs=1e-6)


def test_interpolation_weights_are_uniform_per_sample(tmp_path, monkeypatch):
    """With the solver's own sample_eps each interpolate lies on its real-fake segment, eps ~ U[0, 1) per sample."""
    n = 256
    solver = make_solver(tmp_path, batch_size=n)
    z, _ = fix_noise(monkeypatch, solver)
    seen = capture_critic_outputs(monkeypatch, solver)
    inputs, labels = solver.next_real_batch()
    real = inputs["x"].numpy().astype(np.float64)
    with paddle.no_grad():
        fake = solver.model.generator({"z": z[:n]})["x"].numpy().astype(np.float64)
    solver.critic_step(inputs, labels)
    x = seen[0]["x_interp"].numpy().astype(np.float64)
    d = real - fake
    eps = ((x - fake) * d).sum(axis=1) / (d * d).sum(axis=1)  # least-squares weight of each sample
    np.testing.assert_allclose(x, eps[:, None] * real + (1 - eps[:, None]) * fake, atol=1e-5)  # on the segment
    assert eps.min() >= -1e-4 and eps.max() <= 1 + 1e-4
    assert abs(eps.mean() - 0.5) < 0.08 and abs(eps.std() - np.sqrt(1 / 12)) < 0.05
    quantiles = np.sort(eps)
    assert np.abs(quantiles - (np.arange(n) + 0.5) / n).max() < 0.15  # close to the uniform distribution
    draws = solver.sample_eps([4000, 1], paddle.float32).numpy()
    assert draws.shape == (4000, 1) and draws.min() >= 0.0 and draws.max() < 1.0
    assert abs(draws.mean() - 0.5) < 0.02 and abs(draws.std() - np.sqrt(1 / 12)) < 0.02


# --- critic and generator objectives, and the direction of their updates ------------------------------


def test_critic_update_descends_fake_minus_real_plus_penalty(tmp_path, monkeypatch):
    """The critic step moves the critic down the gradient of mean D(fake) - mean D(real) + lambda * GP."""
    gp_lambda = 10.0
    n = len(EPS)
    solver = make_solver(tmp_path, batch_size=n, gp_lambda=gp_lambda)
    z, _ = fix_noise(monkeypatch, solver)
    monkeypatch.setattr(solver, "sample_eps", lambda shape, dtype: paddle.to_tensor(EPS.reshape(shape), dtype=dtype))
    inputs, labels = solver.next_real_batch()
    real = inputs["x"]
    with paddle.no_grad():
        fake = solver.model.generator({"z": z[:n]})["x"]
    critic0 = copy_of(solver.model.critic, ToyCritic)
    before = weights(solver.model.critic)

    solver.critic_step(inputs, labels)

    eps = paddle.to_tensor(EPS.reshape([n, 1]), dtype="float32")
    x = eps * real + (1 - eps) * fake
    x.stop_gradient = False
    (g,) = paddle.grad(critic0({"x": x})["score"].sum(), x, create_graph=True)
    penalty = ((paddle.sqrt((g * g).sum(axis=1) + 1e-12) - 1) ** 2).mean()
    loss = critic0({"x": fake})["score"].mean() - critic0({"x": real})["score"].mean() + gp_lambda * penalty
    loss.backward()
    grads = {k: p.grad.numpy().astype(np.float64) for k, p in critic0.named_parameters()}
    assert_adam_first_step_descends(before, weights(solver.model.critic), grads)


def test_generator_loss_is_minus_mean_critic_of_fakes_and_descends(tmp_path, monkeypatch):
    """generator_loss = -mean D(G(z)), and the generator step moves the generator down its gradient."""
    solver = make_solver(tmp_path)
    z, asked = fix_noise(monkeypatch, solver)
    gen0 = copy_of(solver.model.generator, ToyGenerator)
    critic0 = copy_of(solver.model.critic, ToyCritic)
    before = weights(solver.model.generator)

    losses = solver.generator_step(10)

    assert asked == [10]
    loss = -critic0(gen0({"z": z[:10]}))["score"].mean()
    assert float(losses["generator_loss"]) == pytest.approx(float(loss), rel=1e-5, abs=1e-6)
    loss.backward()
    grads = {k: p.grad.numpy().astype(np.float64) for k, p in gen0.named_parameters()}
    assert_adam_first_step_descends(before, weights(solver.model.generator), grads)


# --- (2) schedule of the updates ----------------------------------------------------------------------


def test_n_critic_critic_updates_per_generator_update(tmp_path, monkeypatch):
    """With n_critic=3 one epoch of 4 iterations runs c,c,c,g four times: 12 critic and 4 generator updates."""
    solver = make_solver(tmp_path, n_critic=3, iters=4, epochs=1)
    assert solver.train_epoch_func is adversarial_epoch
    calls, steps = [], []

    for name, tag in (("critic_step", "c"), ("generator_step", "g")):
        def wrapper(*args, original=getattr(solver, name), tag=tag, **kwargs):
            calls.append(tag)
            return original(*args, **kwargs)

        monkeypatch.setattr(solver, name, wrapper)
    for opt, tag in ((solver.optimizer_d, "D"), (solver.optimizer_g, "G")):
        def counted(original=opt.step, tag=tag):
            steps.append(tag)
            return original()

        monkeypatch.setattr(opt, "step", counted)

    solver.train()

    assert "".join(calls) == "cccg" * 4
    assert "".join(steps) == "DDDG" * 4  # 12 critic optimizer steps, 4 generator ones
    assert solver.global_step == 4


def test_each_critic_update_draws_a_new_real_batch(tmp_path, monkeypatch):
    """Every critic step gets its own real batch: n_critic distinct batches per iteration, no sample reused."""
    batch_size = 16
    solver = make_solver(tmp_path, n_critic=3, iters=2, epochs=1, batch_size=batch_size)
    batches = []
    critic_step = solver.critic_step

    def recording_step(input_dict, label_dict):
        batches.append(input_dict["x"].numpy().copy())
        return critic_step(input_dict, label_dict)

    monkeypatch.setattr(solver, "critic_step", recording_step)
    adversarial_epoch(solver, 1, 1)

    assert len(batches) == 6 and all(b.shape == (batch_size, 2) for b in batches)
    data = toy_arrays("8gaussians", NUM_SAMPLES, DATA_SEED)["x"]
    rows = [tuple(r) for b in batches for r in b]
    assert len(set(rows)) == len(rows)  # 6 disjoint batches: 96 different samples
    assert set(rows) <= {tuple(r) for r in data}  # all of them real training samples


@pytest.mark.parametrize("generator_batch_size,expected", [(None, 16), (7, 7), (40, 40)])
def test_generator_update_uses_generator_batch_size(tmp_path, monkeypatch, generator_batch_size, expected):
    """The generator update scores generator_batch_size fakes (the real batch size when unset)."""
    solver = make_solver(tmp_path, n_critic=2, iters=2, batch_size=16, generator_batch_size=generator_batch_size)
    phase = ["none"]
    rows = {"critic_step": [], "generator_step": []}

    def hook(layer, inputs):
        rows.setdefault(phase[0], []).append((layer_name[id(layer)], next(iter(inputs[0].values())).shape[0]))

    layer_name = {id(solver.model.generator): "G", id(solver.model.critic): "D"}
    handles = [net.register_forward_pre_hook(hook) for net in (solver.model.generator, solver.model.critic)]
    for name in rows:
        def wrapper(*args, original=getattr(solver, name), name=name, **kwargs):
            phase[0] = name
            try:
                return original(*args, **kwargs)
            finally:
                phase[0] = "none"

        monkeypatch.setattr(solver, name, wrapper)
    try:
        adversarial_epoch(solver, 1, 1)
    finally:
        for h in handles:
            h.remove()

    gen_phase = rows["generator_step"]
    assert [name for name, _ in gen_phase] == ["G", "D"] * 2
    assert all(n == expected for _, n in gen_phase)
    assert all(n == 16 for name, n in rows["critic_step"] if name == "G")  # fakes of the critic step


def test_linear_lr_decay_reaches_zero_after_the_last_iteration(tmp_path, monkeypatch):
    """With decay over all 4 iterations both learning rates are lr * (1 - t / 4) in iteration t and 0 at the end."""
    solver = make_solver(tmp_path, n_critic=2, iters=4, epochs=1, decay=4)
    used = {"critic_step": [], "generator_step": []}
    for name, opt in (("critic_step", solver.optimizer_d), ("generator_step", solver.optimizer_g)):
        def wrapper(*args, original=getattr(solver, name), log=used[name], opt=opt, **kwargs):
            log.append(opt.get_lr())
            return original(*args, **kwargs)

        monkeypatch.setattr(solver, name, wrapper)
    solver.train()
    schedule = [LR * (1 - t / 4) for t in range(4)]
    assert used["generator_step"] == pytest.approx(schedule, abs=1e-12)
    assert used["critic_step"] == pytest.approx([lr for lr in schedule for _ in range(2)], abs=1e-12)
    assert solver.optimizer_g.get_lr() == pytest.approx(0.0, abs=1e-12)
    assert solver.optimizer_d.get_lr() == pytest.approx(0.0, abs=1e-12)


# --- (3) mode coverage ----------------------------------------------------------------------------------


def test_far_sample_does_not_cover_its_nearest_mode():
    """A sample beyond 3 std of every centre covers no mode (its nearest mode stays uncovered)."""
    centers = np.array([[0.0, 0.0], [1.0, 0.0]])
    result = mode_coverage(np.array([[0.0, 0.0], [5.0, 0.0]]), centers, std=0.1)  # nearest of (5, 0): centre 1
    assert result == {"modes": 1.0, "high_quality": 0.5}
    assert mode_coverage(np.array([[5.0, 0.0], [-4.0, 0.0]]), centers, std=0.1) == {"modes": 0.0, "high_quality": 0.0}


@pytest.mark.parametrize("offset,num_std,expected", [
    (2.999, 3.0, {"modes": 2.0, "high_quality": 1.0}),
    (3.001, 3.0, {"modes": 1.0, "high_quality": 0.5}),
    (1.999, 2.0, {"modes": 2.0, "high_quality": 1.0}),
    (2.001, 2.0, {"modes": 1.0, "high_quality": 0.5}),
])
def test_high_quality_radius_is_num_std_standard_deviations(offset, num_std, expected):
    """A sample covers its nearest mode just inside num_std (3 by default) standard deviations, not just outside."""
    std = 0.1
    centers = np.array([[0.0, 0.0], [1.0, 0.0]])
    samples = np.array([[0.0, 0.0], [1.0 + offset * std, 0.0]])  # the second moves away from centre 1
    if num_std == 3.0:
        assert mode_coverage(samples, centers, std) == expected  # the default radius
    assert mode_coverage(samples, centers, std, num_std=num_std) == expected


def test_toy_metric_on_hand_made_points():
    """ToyMetric on 8 Gaussians: covered modes and high-quality fraction by hand, swd against the label points."""
    s = 1 / np.sqrt(2)
    centers = 2.0 * np.array([(1, 0), (-1, 0), (0, 1), (0, -1), (s, s), (s, -s), (-s, s), (-s, -s)]) / 1.414
    std = 0.02 / 1.414
    samples = np.stack([
        centers[0], centers[0], centers[1], centers[2],  # on three centres
        centers[4] * (1 + 2.9 * std / np.linalg.norm(centers[4])),  # 2.9 std outside centre 4: covers it
        centers[3] * (1 + 3.1 * std / np.linalg.norm(centers[3])),  # 3.1 std outside centre 3: does not
        [0.0, 0.0],  # far from every centre
        centers[6] + [1.0, 0.0],  # between modes
    ])
    out = ToyMetric("8gaussians")({"x": paddle.to_tensor(samples.astype("float32"))}, {"x": samples})
    assert out["modes"] == 4.0
    assert out["high_quality"] == pytest.approx(5 / 8)
    assert out["swd"] == pytest.approx(0.0, abs=1e-6)
    shift = np.array([0.3, -0.4])
    one = ToyMetric("8gaussians")({"x": samples}, {"x": samples + shift})["swd"]
    two = ToyMetric("8gaussians")({"x": samples}, {"x": samples + 2 * shift})["swd"]
    assert 0.0 < one <= 0.5 + 1e-9  # mean |shift . u| over unit directions u, at most |shift|
    assert two == pytest.approx(2 * one, rel=1e-9)
    assert set(ToyMetric("8gaussians")({"x": samples})) == {"modes", "high_quality", "reverse_kl"}


# --- (4) the 10-split Inception Score -------------------------------------------------------------------


def is_by_hand(p, splits):
    """exp of the mean KL(p(y|x) || p(y)) in each of `splits` consecutive splits: mean and std (ddof 0)."""
    n = len(p)
    per_split = []
    for i in range(splits):
        part = p[i * n // splits:(i + 1) * n // splits]
        marginal = part.mean(axis=0, keepdims=True)
        kl = np.where(part > 0, part * np.log(np.where(part > 0, part, 1) / marginal), 0.0).sum(axis=1)
        per_split.append(np.exp(kl.mean()))
    return float(np.mean(per_split)), float(np.std(per_split)), per_split


CLASSES_PER_SPLIT = [1, 2, 3, 4, 6, 12, 2, 3, 4, 6]  # split i holds this many classes


def split_classes(per_split=12, num_classes=12):
    """Class of each of 10 * per_split samples; split i cycles through its own classes, offset by i."""
    return np.array([(j % k + i) % num_classes for i, k in enumerate(CLASSES_PER_SPLIT) for j in range(per_split)])


def test_inception_score_default_is_ten_consecutive_splits():
    """inception_score's default (and PROTOCOL["is_splits"]) is the mean/std over 10 consecutive splits."""
    assert PROTOCOL["is_splits"] == 10
    classes = split_classes()
    probs = 0.9 * np.eye(16)[classes] + 0.1 / 16  # smoothed one-hot rows over 16 classes
    mean10, std10, per_split = is_by_hand(probs, 10)
    assert len(set(np.round(per_split, 6))) == len(set(CLASSES_PER_SPLIT))  # splits with more classes score higher
    for splits in (1, 2, 5):
        assert abs(is_by_hand(probs, splits)[0] - mean10) > 0.1  # other split counts give other answers
    assert inception_score(probs, kind="probs") == (pytest.approx(mean10, rel=1e-9), pytest.approx(std10, rel=1e-9))
    assert inception_score(probs, splits=10, kind="probs") == pytest.approx((mean10, std10), rel=1e-9)
    mean1 = is_by_hand(probs, 1)[0]
    assert inception_score(probs, splits=1, kind="probs") == (pytest.approx(mean1, rel=1e-9), 0.0)
    logits = np.log(probs) + np.random.default_rng(0).standard_normal((len(probs), 1))  # softmax is shift-invariant
    assert inception_score(logits) == pytest.approx((mean10, std10), rel=1e-9)
    one_hot = np.eye(12)[classes]  # exact one-hot: split i scores its number of classes
    assert inception_score(one_hot, kind="probs")[0] == pytest.approx(np.mean(CLASSES_PER_SPLIT), rel=1e-12)


class FakeInception:
    """Stands in for the Inception network: its 12 logits are the first 12 pixels of channel 0, over 10."""

    def __init__(self):
        self.images_seen = 0

    def require_logits(self):
        pass

    def preprocess(self, x):
        return paddle.cast(x, "float32")

    def pool3(self, x):
        self.images_seen += x.shape[0]
        return x.reshape([x.shape[0], -1])

    def logits(self, features):
        return features[:, :12] / 10.0

    def __call__(self, inputs):
        features = self.pool3(self.preprocess(next(iter(inputs.values()))))
        return {"pool3": features, "logits": self.logits(features)}


def test_inception_metrics_scores_ten_splits_by_default(monkeypatch):
    """InceptionMetrics' IS, without an is_splits argument, is the 10-split score of the network's logits."""
    net = FakeInception()
    monkeypatch.setitem(InceptionMetrics.__init__.__globals__, "load_inception", lambda *args, **kwargs: net)
    monkeypatch.setitem(InceptionMetrics.__init__.__globals__, "resolve_inception_weights", lambda path: path)
    monkeypatch.setitem(InceptionMetrics.__call__.__globals__, "load_inception", lambda *args, **kwargs: net)
    classes = split_classes()
    nchw = np.zeros((len(classes), 3, 4, 4), np.uint8)
    nchw.reshape(len(classes), -1)[np.arange(len(classes)), classes] = 200  # channel 0, pixel = class
    images = nchw.transpose(0, 2, 3, 1)  # [N, H, W, 3]
    logits = 20.0 * np.eye(12)[classes]  # what the fake network outputs
    probs = np.exp(logits - logits.max(axis=1, keepdims=True))
    probs /= probs.sum(axis=1, keepdims=True)
    mean10, std10, _ = is_by_hand(probs, 10)
    mean5, std5, _ = is_by_hand(probs, 5)
    assert abs(mean10 - is_by_hand(probs, 1)[0]) > 0.1 and abs(mean10 - mean5) > 0.1

    result = InceptionMetrics("unused.pdparams", metrics=("is",), key="img")({"img": images})

    assert net.images_seen == len(images)
    assert result["is_mean"] == pytest.approx(mean10, rel=1e-7)
    assert result["is_std"] == pytest.approx(std10, rel=1e-6)
    five = InceptionMetrics("unused.pdparams", metrics=("is",), key="img", is_splits=5)({"img": images})
    assert five["is_mean"] == pytest.approx(mean5, rel=1e-7) and five["is_std"] == pytest.approx(std5, rel=1e-6)
