"""The WGAN-GP loss (ppsci_ext/loss) through the CIFAR-10 ResNets: the AC-GAN terms reach the critic's class
head and the generator's conditional batch norm, and the gradient penalty is per sample over C, H, W."""

import numpy as np
import paddle

from ppsci_ext.arch.cifar10 import CifarResNetCritic, CifarResNetGenerator
from ppsci_ext.loss import WGANGPLoss, gradient_penalty


def test_acgan_loss_terms_flow():
    paddle.seed(0)
    gen, critic = CifarResNetGenerator(dim=8, conditional=True), CifarResNetCritic(dim=8, acgan=True)
    objective = WGANGPLoss(10.0, acgan_critic_scale=1.0, acgan_generator_scale=0.1)
    real = paddle.rand([4, 3, 32, 32]) * 2 - 1
    y = paddle.to_tensor([0, 1, 2, 3])
    fake = gen({"z": paddle.randn([4, 128]), "y": y})["img"]
    x_interp = (0.5 * real + 0.5 * fake).detach()
    x_interp.stop_gradient = False
    out = {}
    for tag, x in (("real", real), ("fake", fake.detach()), ("interp", x_interp)):
        out.update({f"{k}_{tag}": v for k, v in critic({"img": x}).items()})
    out["x_interp"] = x_interp
    losses = objective.critic(out, {"y": y})
    expected_ac = float(paddle.nn.functional.cross_entropy(out["logits_real"], y))
    assert abs(float(losses["acgan_real"]) - expected_ac) < 1e-5
    total = -float(losses["wasserstein"]) + 10 * float(losses["gradient_penalty"]) + expected_ac
    assert abs(float(losses["critic_loss"]) - total) < 1e-4
    losses["critic_loss"].backward()
    assert float(critic.acgan.weight.grad.abs().sum()) > 0  # the class head learns from the critic loss
    critic.clear_gradients()
    g_out = {f"{k}_fake": v for k, v in critic({"img": fake}).items()}
    g_losses = objective.generator(g_out, {"y": y})
    assert abs(float(g_losses["generator_loss"]) - (-float(g_out["score_fake"].mean())
                                                    + 0.1 * float(g_losses["acgan_fake"]))) < 1e-5
    g_losses["generator_loss"].backward()
    # the class loss reaches the label's row of the conditional batch norm in the generator
    grad = gen.block3.bn2.weight.grad.numpy()
    assert np.abs(grad[:4]).sum() > 0 and not grad[4:].any()


def test_gradient_penalty_is_per_sample_over_chw():
    paddle.seed(0)
    critic = CifarResNetCritic(dim=8)
    x = paddle.randn([3, 3, 32, 32])
    x.stop_gradient = False
    score = critic({"img": x})["score"]
    penalty = float(gradient_penalty(x, score))
    # reference: each sample's input gradient through the real critic, norm over C, H, W
    norms = []
    for i in range(3):
        xi = x[i:i + 1].detach()
        xi.stop_gradient = False
        (g,) = paddle.grad(critic({"img": xi})["score"].sum(), xi)
        norms.append(np.sqrt((g.numpy() ** 2).sum()))
    assert abs(penalty - np.mean((np.array(norms) - 1) ** 2)) < 1e-4 * max(1.0, penalty)
    # and it is not the norm over the whole batch
    (g,) = paddle.grad(critic({"img": x})["score"].sum(), x)
    assert abs(penalty - (np.sqrt((g.numpy() ** 2).sum()) - 1) ** 2) > 1e-3
    # it is differentiable in the critic's weights (double backward through convs and pooling)
    x2 = x.detach()
    x2.stop_gradient = False
    gradient_penalty(x2, critic({"img": x2})["score"]).backward()
    assert float(critic.block1.conv1.weight.grad.abs().sum()) > 0
