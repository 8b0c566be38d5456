"""StoryGAN (model.family = "storygan", docs/MODEL_FAMILIES.md) on the embedded dataset, sized
for the 2-core CPU budget of configs/paper_cpu.py: 32x32 frames, 2,000 steps of 8 stories,
generator and discriminators at base width 32. No ground-truth label is read (the encoders
come from label-free DAMSM pretraining, configs/paper_cpu.py's, so its pretraining directory
serves this config too):

  python -m pipelines.preprocess --dataset=synthetic --image_size=32 --output_dir=runs/data32
  python -m pipelines.pretrain --config=configs/paper_cpu.py --data_dir=runs/data32 \
      --output_dir=runs/pretrain_paper
  python -m pipelines.train --config=configs/storygan.py --data_dir=runs/data32 \
      --pretrained_dir=runs/pretrain_paper --output_dir=runs/storygan_cpu

StoryGAN's objective alpha L_image + beta L_story + L_KL with alpha = beta = 1, no mismatched
pairs (the paper's L_image has none), Adam 2e-4 for both networks (StoryGAN's code), the
discriminators with batch norm and without spectral norm (StoryGAN's, after StackGAN). The
generator's weight average of configs/default.py stays on, as in every CPU config.
"""
from configs import default, paper_cpu, synthetic_cpu


def without_alignment_terms(config):
    """Switches off the clustering family's contrastive and clustering terms (and its
    mismatched pairs): a baseline family's objective is its paper's GAN loss alone."""
    for switch in ("story_image_story_sentence", "image_sentence", "region_word",
                   "story_region_word", "cluster", "mismatched_pairs"):
        config.losses[switch] = False


def baseline_on_cpu(family: str):
    """configs/default.py as a baseline `family` at the frame size and network widths of
    configs/synthetic_cpu.py and the budget of configs/paper_cpu.py (2,000 steps of 8 stories,
    its XLA setting, its label-free DAMSM pretraining), with no alignment term, no BWSA, Adam
    2e-4 for both networks."""
    config = default.get_config()
    small = synthetic_cpu.get_config()
    config.model.family = family
    config.data.image_size = small.data.image_size
    without_alignment_terms(config)
    config.generator.attention = "none"
    config.generator.base_channels = small.generator.base_channels
    config.discriminator.base_channels = small.discriminator.base_channels
    config.train.generator_learning_rate = 2e-4
    config.train.discriminator_learning_rate = 2e-4
    budget = paper_cpu.get_config()
    config.pretrain = budget.pretrain
    for key in ("epochs", "steps_per_epoch", "jit_compile"):
        config.train[key] = budget.train[key]
    return config


def get_config():
    config = baseline_on_cpu("storygan")
    config.discriminator.spectral_norm = False
    config.discriminator.batch_norm = True
    return config
