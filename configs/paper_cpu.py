"""configs/paper.py (the paper as written, no label anywhere) sized down for the embedded
dataset on a 2-core CPU, as the study rows run it: 32x32 frames, the networks of
configs/synthetic_cpu.py, 2,000 steps of 8 stories, the compact image encoder (the
paper's VGG-16 needs ImageNet weights the embedded dataset does not come with), DAMSM encoder
pretraining of configs/pretrain_demo.py for 6 epochs, and no word beyond the synthetic
dataset's sentence length. Every method switch stays as configs/paper.py sets it.

  python -m pipelines.preprocess --dataset=synthetic --image_size=32 --output_dir=runs/data32
  python -m pipelines.pretrain --config=configs/paper_cpu.py --data_dir=runs/data32 \
      --output_dir=runs/pretrain_paper
  python -m pipelines.train --config=configs/paper_cpu.py --data_dir=runs/data32 \
      --pretrained_dir=runs/pretrain_paper --output_dir=runs/paper_cpu
"""
from configs import default, paper, synthetic_cpu


def get_config():
    config = paper.get_config()
    small = synthetic_cpu.get_config()
    reference = default.get_config()
    config.data = reference.data
    config.data.image_size = small.data.image_size
    config.text_encoder = reference.text_encoder
    config.image_encoder = reference.image_encoder
    config.pretrain = small.pretrain
    config.pretrain.character_weight = 0.0
    config.pretrain.epochs = 6
    config.pretrain.learning_rate = 1e-3
    for key in ("base_channels", "attention_resolutions", "residual_blocks"):
        config.generator[key] = small.generator[key]
    config.discriminator.base_channels = small.discriminator.base_channels
    config.train.epochs = 10              # 2,000 steps of configs/paper.py's 8 stories
    config.train.steps_per_epoch = 200
    config.train.lr_decay_every_epochs = reference.train.lr_decay_every_epochs
    config.train.jit_compile = small.train.jit_compile
    config.eval = reference.eval
    return config
