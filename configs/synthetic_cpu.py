"""The CPU experiment of the README: the full method (every loss term, online K-means, BWSA) on
the embedded synthetic dataset, sized for 30 minutes on a 2-core CPU (2,200 steps at about
0.7 s): 32x32 frames (a quarter of the work of 64x64 per step), a generator at base width 32
with one attention stage and no residual block (half the cost per step of base 48 with one),
narrower networks than configs/default.py. Thirty minutes give clean backgrounds and figures
where the sentences put them, not yet recognisable characters (see the README's status).
Every stage takes this config:

  python -m pipelines.preprocess --dataset=synthetic --image_size=32 --output_dir=runs/data32
  python -m pipelines.pretrain --config=configs/synthetic_cpu.py --data_dir=runs/data32 \
      --output_dir=runs/pretrain32
  python -m pipelines.train --config=configs/synthetic_cpu.py --data_dir=runs/data32 \
      --pretrained_dir=runs/pretrain32 --output_dir=runs/cpu

Contrastive terms use NT-Xent (the authors' code) and weigh 0.02 of the GAN term in G's
objective: their gradients through the frozen image encoder are far larger than the
spectral-normalised discriminator's, and at 0.1 they still pushed the frames 6.4x harder than
the GAN term, so the generator learnt to please the encoder instead of drawing
(`python -m benchmarks.gradient_balance`, README reproduction notes). G's rate is the paper's
2e-4; samples come from the generator's weight average (train.generator_average_decay)."""
from configs import default, pretrain_demo


def get_config():
    config = default.get_config()
    config.pretrain = pretrain_demo.get_config().pretrain   # the same 3-minute pretraining
    config.data.image_size = 32
    config.generator.base_channels = 32
    config.generator.attention_resolutions = (32,)
    config.generator.residual_blocks = 0
    config.discriminator.base_channels = 32
    config.losses.contrastive = "nt_xent"
    config.losses.generator_alignment_weight = 0.02
    config.train.generator_learning_rate = 2e-4
    config.train.epochs = 11            # 2,200 steps: about 29 minutes on 2 cores
    config.train.steps_per_epoch = 200
    config.train.jit_compile = True     # one CPU device: XLA is ~15% faster here
    return config
