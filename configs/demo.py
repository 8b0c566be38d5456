"""Demo (`bash scripts/demo.sh`): configs/synthetic_cpu.py, the CPU recipe, at the budget that
fits 10 minutes of a 2-core CPU: the same data (2,000 training stories of the embedded dataset
at 32x32, so the evaluator's character classifier, trained on them, names the characters of
real frames with F1 above 0.95), the same networks and pretraining; 1,200 GAN steps instead
of 2,000, and the evaluator's dataset-trained networks fitted for 5 epochs instead of 10. Its
figures and time: docs/RESULTS.md. Like the recipe, it reads the frames' ground-truth
character labels (pretraining's character heads, the discriminator's auxiliary classifier and
label projection); the demo says so when it ends."""
from configs import synthetic_cpu


def get_config():
    config = synthetic_cpu.get_config()
    config.train.epochs = 6            # x 200 steps of 4 stories
    config.eval.domain_epochs = 5
    config.train.sample_stories = 4
    return config
