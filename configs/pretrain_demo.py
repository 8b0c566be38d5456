"""Encoder pretraining for the CPU demo: DAMSM on the embedded dataset in a few minutes on two
cores (`python -m pipelines.pretrain --config=configs/pretrain_demo.py ...`).

Smaller story batches than configs/default.py: the DAMSM word loss matches every sentence of the
batch against every frame's regions, so its cost grows with the square of the batch (16 stories
= 80 frames take several seconds per step on two cores, 4 stories = 20 frames a few tenths).
The higher rate (AttnGAN pretrains DAMSM at 2e-3) makes up for the short run.
"""
from configs import default


def get_config():
    config = default.get_config()
    config.pretrain.batch_size = 4
    config.pretrain.learning_rate = 1e-3
    config.pretrain.epochs = 2
    return config
