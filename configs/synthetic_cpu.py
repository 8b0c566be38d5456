"""The CPU experiment of the README: the full method (every loss term, online K-means, BWSA) on
the embedded synthetic dataset, sized for 30 minutes on a 2-core CPU (about 1,400 steps):
32x32 frames (a quarter of the work of 64x64 per step), one attention stage with one residual
block, narrower networks than configs/default.py. Thirty minutes do not yet give recognisable
characters (backgrounds and character colours, see the README's status). Every stage takes
this config:

  python -m pipelines.preprocess --dataset=synthetic --image_size=32 --output_dir=runs/data32
  python -m pipelines.pretrain --config=configs/synthetic_cpu.py --data_dir=runs/data32 \
      --output_dir=runs/pretrain32
  python -m pipelines.train --config=configs/synthetic_cpu.py --data_dir=runs/data32 \
      --pretrained_dir=runs/pretrain32 --output_dir=runs/cpu

Contrastive terms use NT-Xent (the authors' code) and weigh 0.1 of the GAN term in G's
objective: with the paper's MMS on raw dot products (unbounded) or at full weight, a generator
that cannot draw yet gains more by saturating the frozen image encoder's features than by
drawing the sentence (the README's reproduction notes)."""
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
    config.train.epochs = 12            # 2,400 steps: about 30 minutes on 2 cores
    config.train.steps_per_epoch = 200
    config.train.jit_compile = True     # one CPU device: XLA is ~15% faster here
    return config
