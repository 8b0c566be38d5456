"""The dynamic-block GAN (model.family = "dynamic_block", docs/MODEL_FAMILIES.md) on the
embedded dataset, sized for the 2-core CPU budget of configs/paper_cpu.py: 32x32 frames, 2,000
steps of 8 stories, generator and discriminator at base width 32, a dynamic block on G's 16x16
features and on D's 16x16 and 8x8 ones. No ground-truth label is read (label-free
DAMSM pretraining, configs/paper_cpu.py's, so its pretraining directory serves here too):

  python -m pipelines.preprocess --dataset=synthetic --image_size=32 --output_dir=runs/data32
  python -m pipelines.pretrain --config=configs/paper_cpu.py --data_dir=runs/data32 \
      --output_dir=runs/pretrain_paper
  python -m pipelines.train --config=configs/dynamic_block.py --data_dir=runs/data32 \
      --pretrained_dir=runs/pretrain_paper --output_dir=runs/dynamic_block_cpu

The paper gives no objective beyond "the training procedure of GANs": the conditional GAN loss
of `objectives` with every contrastive and clustering term off, no mismatched pairs, no
conditioning augmentation (the paper feeds sentence vectors), Adam 2e-4 for both networks
(Sec. 4.1). The rows of its Table 2 are switches: --config.model.dynamic_block.modes=self |
word | none, --config.model.dynamic_block.in_generator=False, ...in_discriminator=False.
"""
from configs.storygan import baseline_on_cpu


def get_config():
    config = baseline_on_cpu("dynamic_block")
    config.model.dynamic_block.generator_resolutions = (16,)
    config.model.dynamic_block.discriminator_resolutions = (16, 8)
    config.losses.generator_weight = 1.0
    config.generator.conditioning_augmentation = False
    return config
