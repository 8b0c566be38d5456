"""Default experiment: the full contrastive + clustering story GAN at CPU-friendly width on the
embedded synthetic dataset. Every hyperparameter of the project lives in this tree; other configs
start from it and override fields (see configs/paper_pororo.py and configs/ablations/)."""
import ml_collections


def get_config() -> ml_collections.ConfigDict:
    c = ml_collections.ConfigDict()
    c.seed = 0

    # --- data (preprocess + tf.data loader) ---------------------------------------------------
    c.data = ml_collections.ConfigDict()
    c.data.dataset = "synthetic"
    c.data.image_size = 64
    c.data.frames_per_story = 5
    c.data.max_sentence_length = 24   # tokens kept per sentence by the loader (pad/truncate)
    c.data.vocab_min_count = 1
    c.data.num_shards = 4
    c.data.compression = "none"       # none | gzip (TFRecord shards)
    c.data.train_frame_choice = "middle"   # first | middle | random (seeded per story)
    # readers without split files (clevr): "" = the release's split; story-number ranges
    # "train=0-79,val=80-87,test=88-" or fractions "train=0.8,val=0.1,test=0.1" (seeded by seed)
    c.data.split = ""
    # embedded synthetic dataset sizes
    c.data.synthetic_train = 2000
    c.data.synthetic_val = 200
    c.data.synthetic_test = 200

    # --- encoders (pretrain; DAMSM-style, AttnGAN) --------------------------------------------
    c.text_encoder = ml_collections.ConfigDict()
    c.text_encoder.embedding_dim = 128
    c.text_encoder.hidden_dim = 128       # D: word-feature / sentence-vector size (bi-LSTM output)
    c.text_encoder.dropout = 0.1

    c.image_encoder = ml_collections.ConfigDict()
    c.image_encoder.backbone = "compact"  # compact | vgg16 | inception_v3
    c.image_encoder.vgg16_weights = ""    # local .h5 of ImageNet VGG-16 weights (vgg16 only)
    # local .h5 of ImageNet Inception-v3 no-top weights (inception_v3 only: AttnGAN's and the
    # authors' encoder, frames resized to 299x299, regions from mixed7 = Mixed_6e)
    c.image_encoder.inception_v3_weights = ""
    c.image_encoder.width = 32            # base channels of the compact CNN
    c.image_encoder.dim = 128             # D: joint space, equal to text_encoder.hidden_dim

    c.pretrain = ml_collections.ConfigDict()
    c.pretrain.objective = "damsm"        # damsm | eq6 (offline-clustering mode, paper Eq. 6)
    c.pretrain.epochs = 10
    c.pretrain.batch_size = 16            # stories per batch
    c.pretrain.learning_rate = 2e-4
    c.pretrain.gamma1 = 4.0               # DAMSM smoothing factors (AttnGAN)
    c.pretrain.gamma2 = 5.0
    c.pretrain.gamma3 = 10.0
    c.pretrain.word_loss_weight = 5.0     # lambda
    # > 0: linear heads name each frame's characters from the sentence vector and from the image
    # feature, this weight times their loss added to the objective (not in the paper; needs
    # labelled data; docs/REPRODUCTION_NOTES.md)
    c.pretrain.character_weight = 0.0
    c.pretrain.r_precision_candidates = 100
    c.pretrain.r_precision_trials = 10
    # training fusion features the offline centroids see; bounds Ward clustering's O(n^2) memory
    c.pretrain.centroid_instances = 10000

    # --- losses --------------------------------------------------------------------------------
    c.losses = ml_collections.ConfigDict()
    c.losses.contrastive = "mms"          # mms (Eq. 2) | nt_xent (Eq. 1)
    c.losses.mms_margin = 0.001           # delta
    c.losses.temperature = 0.1            # tau of NT-Xent and of the clustering loss (Eq. 5)
    c.losses.story_image_story_sentence = True   # SI-SS
    c.losses.image_sentence = True               # I-S
    c.losses.region_word = True                  # R-W
    c.losses.story_region_word = True            # SR-W
    c.losses.cluster = True                      # Eq. 4-5
    c.losses.story_image = "feature_mean"        # feature_mean (paper) | pixel_mean (authors' code)
    c.losses.gan_weight = 1.0
    # GAN-INT-CLS: real frames with another story's sentences are negatives of D's conditional
    # logit (not in the paper)
    c.losses.mismatched_pairs = True
    c.losses.unconditional_weight = 1.0   # StackGAN++ joint loss (joint discriminator only)
    # StoryGAN code line's auxiliary character classifier on D (AC-GAN; not in the paper): D
    # names the characters of real frames, G's fakes must show their frames' characters
    c.losses.character_classification = False
    c.losses.character_weight = 1.0
    # AC-GAN's original form: D's classifier also learns G's fakes with their stories' labels
    # (D's character term = real + fake), so it separates the characters as G draws them
    c.losses.character_fake_frames = False
    # R1 gradient penalty on real frames (Mescheder et al. 2018; not in the paper): D's total
    # + r1_gamma / 2 * E|grad_x D(x)|^2; 0 = off. For a discriminator without spectral norm
    c.losses.r1_gamma = 0.0
    c.losses.kl_weight = 1.0
    c.losses.generator_weight = 5.0       # authors' code: 5 x (GAN + contrastive) + 1 x KL
    c.losses.generator_alignment_weight = 1.0   # G's contrastive + cluster terms vs its GAN term
    # False = the authors' code: G's clustering term on fakes made without gradient, so it
    # trains nothing (METHOD_NOTES); the paper: with gradient
    c.losses.generator_cluster_gradient = True

    c.clustering = ml_collections.ConfigDict()
    c.clustering.mode = "online"          # online | offline (pretrained, frozen centroids)
    c.clustering.algorithm = "kmeans"     # kmeans | hierarchical
    c.clustering.features = "fusion"      # fusion (Eq. 3) | individual (per-modality features)
    c.clustering.k = 8
    c.clustering.memory_batches = 10      # fusion features of the last N batches are clustered
    c.clustering.every_n_batches = 10     # re-cluster period (online)
    c.clustering.lloyd_iterations = 10

    # --- model family (docs/MODEL_FAMILIES.md) ---------------------------------------------------
    c.model = ml_collections.ConfigDict()
    # clustering: the main paper's contrastive + clustering GAN | storygan: StoryGAN (Li et al.
    # 2019; configs/storygan.py) | dynamic_block: the dynamic-block GAN (Li & Lukasiewicz 2022;
    # configs/dynamic_block.py). The generator and discriminator sections size every family.
    c.model.family = "clustering"
    # GAN-INT (Reed et al. 2016; not in the three papers): G also learns from fakes of text
    # embeddings interpolated between two stories, beta * t1 + (1 - beta) * t2, an extra fake
    # term with no matching real
    c.model.text_interpolation = False
    c.model.interpolation_beta = 0.5      # GAN-INT-CLS's 0.5
    c.model.storygan = ml_collections.ConfigDict()
    c.model.storygan.image_weight = 1.0   # alpha (L_image)
    c.model.storygan.story_weight = 1.0   # beta (L_story)
    c.model.storygan.gru_units = 128      # the context encoder's GRU (i_t)
    # Text2Gist's Filter(i_t): this many 1-D filters of this (odd) width generated from i_t
    c.model.storygan.gist_filters = 3
    c.model.storygan.gist_filter_width = 15
    c.model.storygan.discriminator_condition_dim = 128   # D_I's compressed (sentence, story)
    c.model.storygan.story_embedding_dim = 128           # D_S's per-frame E_img / E_txt size
    c.model.dynamic_block = ml_collections.ConfigDict()
    # both: the dynamic block (SA or WSA chosen by Gumbel-softmax) | self: SA only | word: WSA
    # only | none: w/o both attention (the paper's Table 2 rows)
    c.model.dynamic_block.modes = "both"
    c.model.dynamic_block.temperature = 1.0   # Gumbel-softmax tau
    c.model.dynamic_block.in_generator = True       # False: Table 2's "w/o DB in G"
    c.model.dynamic_block.in_discriminator = True   # False: Table 2's "w/o DB in D"
    c.model.dynamic_block.generator_resolutions = (16, 32)     # G's feature maps with a DB
    c.model.dynamic_block.discriminator_resolutions = (16, 8)  # D's feature maps with a DB

    # --- generator / discriminator --------------------------------------------------------------
    c.generator = ml_collections.ConfigDict()
    c.generator.noise_dim = 100
    c.generator.condition_dim = 124       # conditioning augmentation size
    c.generator.conditioning_augmentation = True
    c.generator.base_channels = 64        # paper: 256 (configs/paper_pororo.py)
    c.generator.attention = "bwsa"        # none | wsa | bwsa
    c.generator.attention_resolutions = (32, 64)
    c.generator.residual_blocks = 2       # per attention stage (paper code: 4)
    c.generator.use_character_labels = False   # authors' code feeds labels; the paper does not
    c.generator.frame_gru = False         # authors' code: a GRU over the story's frames

    c.discriminator = ml_collections.ConfigDict()
    c.discriminator.base_channels = 32    # paper code: 124
    c.discriminator.spectral_norm = True
    # joint: image trunk, unconditional + fusion-conditioned logits (ours,
    # docs/REPRODUCTION_NOTES.md) | fusion: the fusion map of D's own conv only (the paper at
    # the authors' code's layout, Sec. 3.4) | coupled: D judges the clustered fusion features
    # X = f(v) g(s)^T of the frozen encoder's regions, so its GAN loss trains the heads f, g
    # too (the text)
    c.discriminator.architecture = "joint"
    # True: the projection heads f, g are trained by D's optimiser on real pairs (the paper,
    # Sec. 3.4); False = the authors' code, where no optimiser holds them, so D's contrastive
    # and clustering terms train nothing (METHOD_NOTES)
    c.discriminator.train_heads = True
    c.discriminator.batch_norm = False    # authors' code: True (batch norm after the first block)
    # losses.character_classification's classifier: shared (a head on D's last features, the
    # StoryGAN code line) | separate (its own trunk without spectral norm; REPRODUCTION_NOTES)
    c.discriminator.character_trunk = "shared"
    # ProGAN's minibatch standard deviation before the real/fake logits, over groups of this
    # many frames (0 = off; ProGAN: 4): lets D see a batch of fakes that all look alike
    c.discriminator.minibatch_stddev_group = 0
    # the projection discriminator's class term (Miyato & Koyama 2018) on the frames' character
    # labels in the conditional logit; not in the paper (REPRODUCTION_NOTES); needs labels
    c.discriminator.label_projection = False
    # joint D only: its conditional logit also sees the frame's story vector (StoryGAN's image
    # discriminator's story context), not in the paper (docs/REPRODUCTION_NOTES.md)
    c.discriminator.story_condition = False

    # --- GAN training ---------------------------------------------------------------------------
    c.train = ml_collections.ConfigDict()
    c.train.epochs = 20
    c.train.batch_size = 8                # stories per global batch (image batch = 5 x this)
    c.train.generator_learning_rate = 1e-4
    c.train.discriminator_learning_rate = 4e-4
    c.train.beta_1 = 0.5
    c.train.beta_2 = 0.999
    c.train.lr_decay_every_epochs = 20
    c.train.lr_decay_rate = 0.5
    # EMA of the generator's weights for samples and exports (ProGAN/BigGAN/StyleGAN; not in the
    # paper); 0 = the trained weights themselves
    c.train.generator_average_decay = 0.999
    c.train.mixed_precision = "float32"   # float32 | mixed_bfloat16 | mixed_float16
    c.train.jit_compile = False
    c.train.sample_every_epochs = 1
    c.train.sample_stories = 4            # validation stories in each sample grid (fixed noise)
    c.train.steps_per_epoch = 0           # 0 = one pass over the training split
    c.train.pretrained_dir = ""           # output of pipelines.pretrain

    # --- evaluation -----------------------------------------------------------------------------
    c.eval = ml_collections.ConfigDict()
    c.eval.batch_size = 32
    c.eval.inception_weights = ""         # local InceptionV3 no-top weights file or TF-Hub handle
    c.eval.r2plus1d_weights = ""          # local R(2+1)D-18 weights file
    c.eval.num_samples = 0                # 0 = the whole split
    c.eval.sample_stories = 8             # real-vs-generated PNG grids written
    # reference statistics + domain networks; "" = OUTPUT/../eval_cache (not inside the data)
    c.eval.statistics_cache_dir = ""
    # dataset-trained fallback extractors (fid_domain / fsd_domain, character classifier)
    c.eval.domain_epochs = 10
    c.eval.domain_batch_size = 64
    c.eval.domain_learning_rate = 1e-3
    c.eval.domain_width = 32
    c.eval.domain_feature_dim = 256
    c.eval.domain_train_stories = 0       # real training stories to fit them on; 0 = all
    return c
