"""The CPU experiment of the README: the full method (every loss term, online K-means, BWSA) on
the embedded synthetic dataset, sized for 30 minutes on a 2-core CPU (2,000 steps at about
0.85 s): 32x32 frames (a quarter of the work of 64x64 per step), a generator at base width 32
with one attention stage and no residual block, narrower networks than configs/default.py.
Thirty minutes give figures where the sentences put them, in the sentences' poses, partly in
their characters' colours, on a snow background whatever the story (see the README's status).
Every stage takes this config:

  python -m pipelines.preprocess --dataset=synthetic --image_size=32 --output_dir=runs/data32
  python -m pipelines.pretrain --config=configs/synthetic_cpu.py --data_dir=runs/data32 \
      --output_dir=runs/pretrain32
  python -m pipelines.train --config=configs/synthetic_cpu.py --data_dir=runs/data32 \
      --pretrained_dir=runs/pretrain32 --output_dir=runs/cpu

Departures from configs/default.py, each measured (README reproduction notes):
- the discriminator without spectral normalisation: Keras' version projects every kernel back
  to unit norm at each training call, and a spectral-normalised trunk learns to tell the
  characters apart several times slower (`python -m benchmarks.character_learning`); with it,
  2,200 steps gave dark blobs for characters;
- the auxiliary character classifier of the StoryGAN code line (losses.character_classification)
  on a trunk of its own (discriminator.character_trunk = "separate");
- contrastive terms in NT-Xent (the authors' code) at 0.02 of the GAN term in G's objective:
  their gradients through the frozen image encoder are far larger than the discriminator's, and
  at 0.1 they pushed the frames 6.4x harder than the GAN term (`python -m
  benchmarks.gradient_balance`);
- G's rate is the paper's 2e-4; samples come from the generator's weight average
  (train.generator_average_decay)."""
from configs import default, pretrain_demo


def get_config():
    config = default.get_config()
    config.pretrain = pretrain_demo.get_config().pretrain   # the same 3-minute pretraining
    config.data.image_size = 32
    config.generator.base_channels = 32
    config.generator.attention_resolutions = (32,)
    config.generator.residual_blocks = 0
    config.discriminator.base_channels = 32
    config.discriminator.spectral_norm = False
    config.discriminator.character_trunk = "separate"
    config.losses.character_classification = True
    config.losses.contrastive = "nt_xent"
    config.losses.generator_alignment_weight = 0.02
    config.train.generator_learning_rate = 2e-4
    config.train.epochs = 10            # 2,000 steps: about 29 minutes on 2 cores
    config.train.steps_per_epoch = 200
    config.train.jit_compile = True     # one CPU device: XLA is ~15% faster here
    return config
