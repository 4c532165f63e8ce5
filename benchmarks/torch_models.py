"""PyTorch twins of the package's generators and critics, for speed comparisons only.

Same layers, shapes and parameter counts as ``ppsci_ext.arch`` (toy MLPs,
the paper's MNIST DCGAN-like pair, the CIFAR-10 ResNet pair), and the same
WGAN-GP iteration as ``AdversarialSolver``: ``n_critic`` critic updates, each
with fakes made under ``no_grad``, one joint critic pass over real and fake,
a separate pass over the interpolates with the penalty's double backward;
then one generator update with the critic frozen. Initialisation is
PyTorch's default: it does not change the speed.

PyTorch is a benchmark-only dependency; the package never imports this file.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


# ------------------------------------------------------------------ toy
def _mlp(in_features: int, width: int, out_features: int, hidden_layers: int = 3) -> nn.Sequential:
    layers, features = [], in_features
    for _ in range(hidden_layers):
        layers += [nn.Linear(features, width), nn.ReLU()]
        features = width
    layers.append(nn.Linear(features, out_features))
    return nn.Sequential(*layers)


def toy_pair(width: int = 512, noise_dim: int = 2):
    return _mlp(noise_dim, width, 2), _mlp(2, width, 1), noise_dim


# ------------------------------------------------------------------ MNIST
class MNISTGenerator(nn.Module):
    def __init__(self, dim: int = 64, noise_dim: int = 128):
        super().__init__()
        self.dim = dim
        self.fc = nn.Linear(noise_dim, 4 * 4 * 4 * dim)
        self.deconv1 = nn.ConvTranspose2d(4 * dim, 2 * dim, 5, 2, 2, output_padding=1)
        self.deconv2 = nn.ConvTranspose2d(2 * dim, dim, 5, 2, 2, output_padding=1)
        self.deconv3 = nn.ConvTranspose2d(dim, 1, 5, 2, 2, output_padding=1)

    def forward(self, z):
        h = torch.relu(self.fc(z)).reshape(-1, 4 * self.dim, 4, 4)
        h = torch.relu(self.deconv1(h))[:, :, :7, :7]
        h = torch.relu(self.deconv2(h))
        return torch.sigmoid(self.deconv3(h))


class MNISTCritic(nn.Module):
    def __init__(self, dim: int = 64):
        super().__init__()
        self.dim = dim
        self.net = nn.Sequential(
            nn.Conv2d(1, dim, 5, 2, 2), nn.LeakyReLU(0.2),
            nn.Conv2d(dim, 2 * dim, 5, 2, 2), nn.LeakyReLU(0.2),
            nn.Conv2d(2 * dim, 4 * dim, 5, 2, 2), nn.LeakyReLU(0.2),
        )
        self.fc = nn.Linear(4 * 4 * 4 * dim, 1)

    def forward(self, x):
        return self.fc(self.net(x).reshape(-1, 4 * 4 * 4 * self.dim))


def mnist_pair(dim: int = 64):
    return MNISTGenerator(dim), MNISTCritic(dim), 128


# ------------------------------------------------------------------ CIFAR-10
def _conv(in_ch: int, out_ch: int, kernel: int) -> nn.Conv2d:
    return nn.Conv2d(in_ch, out_ch, kernel, padding=kernel // 2)


class _BatchNorm(nn.Module):
    """Batch statistics always, like the package's generator batch norm."""

    def __init__(self, channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))

    def forward(self, x):
        return F.batch_norm(x, None, None, self.weight, self.bias, training=True, eps=1e-5)


def _up(x):
    return F.interpolate(x, scale_factor=2, mode="nearest")


# The package's fused resampling convolutions (ppsci_ext/arch/cifar10.py): a 3x3 conv next to a
# x2 resampling as one 4x4 stride-2 (transposed) conv with a spread kernel. Same results.
_POOL_SPREAD = ((1, 0, 0), (1, 1, 0), (0, 1, 1), (0, 0, 1))
_UP_SPREAD = ((0, 0, 1), (0, 1, 1), (1, 1, 0), (1, 0, 0))


def _spread(weight, spread):
    s = torch.tensor(spread, dtype=weight.dtype)
    return torch.einsum("uk,ockl,vl->ocuv", s, weight, s)


def _conv_pool(conv, x, fused: bool):
    if not fused:
        return F.avg_pool2d(conv(x), 2)
    return F.conv2d(x, _spread(conv.weight, _POOL_SPREAD) * 0.25, conv.bias, stride=2, padding=1)


def _up_conv(conv, x, fused: bool):
    if not fused:
        return conv(_up(x))
    return F.conv_transpose2d(x, _spread(conv.weight, _UP_SPREAD).transpose(0, 1), conv.bias, stride=2, padding=1)


class _UpBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, fused: bool):
        super().__init__()
        self.fused = fused
        self.shortcut = _conv(in_ch, out_ch, 1)
        self.bn1, self.conv1 = _BatchNorm(in_ch), _conv(in_ch, out_ch, 3)
        self.bn2, self.conv2 = _BatchNorm(out_ch), _conv(out_ch, out_ch, 3)

    def forward(self, x):
        h = _up_conv(self.conv1, torch.relu(self.bn1(x)), self.fused)
        return _up(self.shortcut(x)) + self.conv2(torch.relu(self.bn2(h)))


class _OptimizedDiscBlock(nn.Module):
    def __init__(self, in_ch: int, out_ch: int, fused: bool):
        super().__init__()
        self.fused = fused
        self.shortcut, self.conv1, self.conv2 = _conv(in_ch, out_ch, 1), _conv(in_ch, out_ch, 3), _conv(out_ch, out_ch, 3)

    def forward(self, x):
        return self.shortcut(F.avg_pool2d(x, 2)) + _conv_pool(self.conv2, torch.relu(self.conv1(x)), self.fused)


class _DiscBlock(nn.Module):
    def __init__(self, ch: int, down: bool, fused: bool):
        super().__init__()
        self.down, self.fused = down, fused
        self.shortcut = _conv(ch, ch, 1) if down else None
        self.conv1, self.conv2 = _conv(ch, ch, 3), _conv(ch, ch, 3)

    def forward(self, x):
        shortcut = x if self.shortcut is None else self.shortcut(F.avg_pool2d(x, 2))
        h = torch.relu(self.conv1(torch.relu(x)))
        return shortcut + (_conv_pool(self.conv2, h, self.fused) if self.down else self.conv2(h))


class CifarResNetGenerator(nn.Module):
    def __init__(self, dim: int = 128, noise_dim: int = 128, fused: bool = True):
        super().__init__()
        self.dim = dim
        self.input = nn.Linear(noise_dim, 4 * 4 * dim)
        self.blocks = nn.ModuleList([_UpBlock(dim, dim, fused) for _ in range(3)])
        self.bn_out, self.conv_out = _BatchNorm(dim), _conv(dim, 3, 3)

    def forward(self, z):
        h = self.input(z).reshape(-1, self.dim, 4, 4)
        for block in self.blocks:
            h = block(h)
        return torch.tanh(self.conv_out(torch.relu(self.bn_out(h))))


class CifarResNetCritic(nn.Module):
    def __init__(self, dim: int = 128, fused: bool = True):
        super().__init__()
        self.blocks = nn.Sequential(_OptimizedDiscBlock(3, dim, fused), _DiscBlock(dim, True, fused),
                                    _DiscBlock(dim, False, fused), _DiscBlock(dim, False, fused))
        self.output = nn.Linear(dim, 1)

    def forward(self, x):
        return self.output(torch.relu(self.blocks(x)).mean(dim=(2, 3)))


def cifar10_pair(dim: int = 128, fused: bool = True):
    """``fused``: the package's resampling convolutions; False: the official conv/pool and upsample/conv order."""
    return CifarResNetGenerator(dim, fused=fused), CifarResNetCritic(dim, fused=fused), 128


# ------------------------------------------------------------------ the loop
class TorchWGANGP:
    """The solver's iteration in PyTorch, on in-memory real data."""

    def __init__(self, generator, critic, noise_dim: int, real: torch.Tensor, batch: int,
                 generator_batch: int, n_critic: int, gp_lambda: float, lr: float, betas):
        self.generator, self.critic, self.noise_dim = generator, critic, noise_dim
        self.real, self.batch, self.generator_batch = real, batch, generator_batch
        self.n_critic, self.gp_lambda = n_critic, gp_lambda
        self.opt_g = torch.optim.Adam(generator.parameters(), lr, betas=betas)
        self.opt_d = torch.optim.Adam(critic.parameters(), lr, betas=betas)

    def critic_step(self):
        n = self.batch
        real = self.real[torch.randint(0, self.real.shape[0], (n,))]
        with torch.no_grad():
            fake = self.generator(torch.randn(n, self.noise_dim))
        eps = torch.rand([n] + [1] * (real.ndim - 1))
        x_interp = (eps * real + (1.0 - eps) * fake).requires_grad_(True)
        joint = self.critic(torch.cat([real, fake]))
        score_interp = self.critic(x_interp)
        (grad,) = torch.autograd.grad(score_interp.sum(), x_interp, create_graph=True)
        norm = torch.sqrt((grad.reshape(n, -1) ** 2).sum(dim=1) + 1e-12)
        penalty = ((norm - 1.0) ** 2).mean()
        loss = joint[n:].mean() - joint[:n].mean() + self.gp_lambda * penalty
        loss.backward()
        self.opt_d.step()
        self.opt_d.zero_grad(set_to_none=True)
        return loss.detach()

    def generator_step(self):
        params = list(self.critic.parameters())
        for p in params:
            p.requires_grad_(False)
        try:
            loss = -self.critic(self.generator(torch.randn(self.generator_batch, self.noise_dim))).mean()
            loss.backward()
        finally:
            for p in params:
                p.requires_grad_(True)
        self.opt_g.step()
        self.opt_g.zero_grad(set_to_none=True)
        return loss.detach()

    def iteration(self):
        for _ in range(self.n_critic):
            self.critic_step()
        return self.generator_step()
