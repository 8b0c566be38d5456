"""Table 4: NT-Xent (Eq. 1) instead of MMS (Eq. 2) in every contrastive term."""
from configs import default


def get_config():
    config = default.get_config()
    config.losses.contrastive = "nt_xent"
    return config
