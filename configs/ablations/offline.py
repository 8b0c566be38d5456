"""Table 4: offline clustering (Sec. 3.3.3): encoders pretrained with Eq. 6 from scratch, the
centroids computed once by pipelines.pretrain and frozen. Needs --pretrained_dir from a
`pipelines.pretrain` run with this config (pretrain.objective = "eq6")."""
from configs import default


def get_config():
    config = default.get_config()
    config.clustering.mode = "offline"
    config.pretrain.objective = "eq6"
    return config
