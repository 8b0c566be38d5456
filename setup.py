"""storyvis_tf: contrastive + clustering story visualization GANs in TensorFlow 2 / Keras 3."""
import setuptools

setuptools.setup(
    name="storyvis_tf",
    version="0.1.0",
    description="Story visualization GANs (contrastive + clustering, dynamic block, StoryGAN) "
    "in a TFX-style TensorFlow 2 / Keras 3 pipeline.",
    python_requires=">=3.11,<3.12",
    packages=setuptools.find_packages(include=["storyvis_tf", "storyvis_tf.*", "pipelines", "configs"]),
    install_requires=[
        "tensorflow>=2.21,<2.22",
        "keras>=3.12,<4",
        "tensorboard>=2.21,<3",
        "apache-beam[tfrecord]>=2.69,<3",
        "tensorflow-datasets>=4.9.10,<5",
        # tensorflow-datasets 4.9.10 imports it to build any dataset defined in a package, but
        # declares it only for Python < 3.9 (tensorflow/datasets#11212).
        "importlib_resources>=6,<8",
        "tensorflow-hub>=0.16.1,<0.17",
        "scikit-learn>=1.5,<2",
        "numpy>=1.26,<3",
        "pillow>=10,<13",
        "absl-py>=2,<3",
        "ml-collections>=1.0,<2",
        # tensorflow-hub 0.16.1 imports pkg_resources, removed in setuptools 82 (tensorflow/hub#934).
        "setuptools<82",
        # pipelines.serve: an ASGI framework and server, and orjson for the large image responses.
        "starlette>=1.0,<2",
        "uvicorn>=0.30,<1",
        "orjson>=3.10,<4",
    ],
    package_data={"storyvis_tf.serving": ["static/*"]},
    extras_require={
        # jax is here so the backend-agnostic model tests run under KERAS_BACKEND=jax as well.
        "test": ["pytest>=8,<10", "jax[cpu]>=0.4.30", "httpx>=0.28,<1", "selenium>=4.20,<5"],
    },
)
