"""pipelines.serve's REST API against TF Serving's: status, metadata, predict in both formats,
versions and polling, batched concurrent requests, and one test per kind of bad input (each a
4xx naming what is wrong, after which the server still serves)."""
import base64
import concurrent.futures
import io
import os
import shutil
import time

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from storyvis_tf.serving.batching import BatchingOptions
from tests.serving_support import (FRAMES, IMAGE_SIZE, MAX_SENTENCE_LENGTH, MODEL, STORY,
                                   shared_export, story_client)

PREDICT = f"/v1/models/{MODEL}:predict"
OTHER_STORY = ["Kiki hops.", "Pip naps.", "Kiki sits.", "Pip waves.", "Kiki stands."]


@pytest.fixture(scope="module")
def export_dir(tmp_path_factory):
    return shared_export(tmp_path_factory)


@pytest.fixture(scope="module")
def client(export_dir):
    with story_client(export_dir) as http:
        yield http


@pytest.fixture(scope="module")
def in_process(export_dir):
    """images [stories, frames, H, W, 3] of the SavedModel called in this process."""
    serve = tf.saved_model.load(os.path.join(export_dir, "1")).signatures["serving_default"]

    def images(stories, seed):
        return serve(sentences=tf.constant(stories), seed=tf.constant(seed, tf.int64))[
            "images"].numpy()
    return images


def still_serves(client):
    response = client.post(PREDICT, json={"instances": [{"sentences": STORY, "seed": 1}]})
    return response.status_code == 200 and len(response.json()["predictions"]) == 1


def error_of(response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    return response.json()["error"]


def decoded(png_b64: dict) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(png_b64["b64"]))))


def test_model_status(client):
    expected = {"model_version_status": [{"version": "1", "state": "AVAILABLE",
                                          "status": {"error_code": "OK", "error_message": ""}}]}
    assert client.get(f"/v1/models/{MODEL}").json() == expected
    assert client.get(f"/v1/models/{MODEL}/versions/1").json() == expected


def test_metadata_gives_the_signature_defs(client):
    metadata = client.get(f"/v1/models/{MODEL}/metadata").json()
    assert metadata["model_spec"] == {"name": MODEL, "signature_name": "", "version": "1"}
    signature = metadata["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert signature["method_name"] == "tensorflow/serving/predict"
    assert signature["inputs"]["sentences"]["dtype"] == "DT_STRING"
    assert signature["inputs"]["seed"]["dtype"] == "DT_INT64"
    assert [d["size"] for d in signature["outputs"]["images"]["tensor_shape"]["dim"]] == [
        "-1", str(FRAMES), str(IMAGE_SIZE), str(IMAGE_SIZE), "3"]
    assert signature["outputs"]["images_bytes"]["dtype"] == "DT_STRING"


def test_predict_row_format_equals_the_savedmodel(client, in_process):
    response = client.post(PREDICT, json={"signature_name": "serving_default", "instances": [
        {"sentences": STORY, "seed": 7}, {"sentences": OTHER_STORY, "seed": 3}]})
    predictions = response.json()["predictions"]
    images = np.array([p["images"] for p in predictions], np.uint8)
    np.testing.assert_array_equal(images, in_process([STORY, OTHER_STORY], [7, 3]))
    pngs = np.array([[decoded(png) for png in p["images_bytes"]] for p in predictions])
    np.testing.assert_array_equal(pngs, images)


def test_predict_columnar_format_and_the_default_seed(client, in_process):
    stories = [STORY, OTHER_STORY]
    outputs = client.post(PREDICT, json={"inputs": {"sentences": stories, "seed": 5}}).json()[
        "outputs"]
    np.testing.assert_array_equal(np.array(outputs["images"], np.uint8), in_process(stories, 5))
    assert np.array(outputs["images_bytes"]).shape == (2, FRAMES)
    default = client.post(PREDICT, json={"inputs": {"sentences": stories}}).json()["outputs"]
    np.testing.assert_array_equal(np.array(default["images"], np.uint8), in_process(stories, 0))


def test_sentences_as_b64(client, in_process):
    story = [{"b64": base64.b64encode(s.encode()).decode()} for s in STORY]
    images = client.post(PREDICT, json={"instances": [{"sentences": story, "seed": 2}]}).json()[
        "predictions"][0]["images"]
    np.testing.assert_array_equal(np.array([images], np.uint8), in_process([STORY], 2))


def test_concurrent_requests_are_batched_and_each_gets_its_own_frames(export_dir, in_process):
    batching = BatchingOptions(max_batch_size=8, batch_timeout_s=0.05)
    seeds = list(range(8))
    with story_client(export_dir, batching=batching) as http:
        with concurrent.futures.ThreadPoolExecutor(len(seeds)) as pool:
            responses = list(pool.map(lambda seed: http.post(PREDICT, json={
                "instances": [{"sentences": STORY, "seed": seed}]}), seeds))
    images = np.array([r.json()["predictions"][0]["images"] for r in responses], np.uint8)
    np.testing.assert_array_equal(images, in_process([STORY] * len(seeds), seeds))


def test_a_new_version_is_served_without_a_restart(export_dir, tmp_path, in_process):
    base = str(tmp_path / "export")
    shutil.copytree(os.path.join(export_dir, "1"), os.path.join(base, "1"))
    with story_client(base, poll_wait_s=0.05) as client:
        os.makedirs(os.path.join(base, ".staging-2"))   # as pipelines.export writes a version
        shutil.copytree(os.path.join(base, "1"), os.path.join(base, ".staging-2", "m"))
        os.rename(os.path.join(base, ".staging-2", "m"), os.path.join(base, "2"))
        wait_for(lambda: client.get(f"/v1/models/{MODEL}").json()["model_version_status"][-1]
                 == {"version": "2", "state": "AVAILABLE",
                     "status": {"error_code": "OK", "error_message": ""}})
        request = {"instances": [{"sentences": STORY, "seed": 4}]}
        for path in (PREDICT, f"/v1/models/{MODEL}/versions/2:predict"):
            response = client.post(path, json=request)
            np.testing.assert_array_equal(
                np.array([response.json()["predictions"][0]["images"]], np.uint8),
                in_process([STORY], 4))
        assert client.get(f"/v1/models/{MODEL}/metadata").json()["model_spec"]["version"] == "2"
        shutil.rmtree(os.path.join(base, "1"))
        wait_for(lambda: client.get(f"/v1/models/{MODEL}/versions/1").json()[
            "model_version_status"][0]["state"] == "END")
        message = error_of(client.post(f"/v1/models/{MODEL}/versions/1:predict", json=request),
                           404)
        assert message.startswith(f"Servable not found for request: Specific({MODEL}, 1)")
        assert "available versions: 2" in message


def wait_for(condition, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# --- bad input: one test each -------------------------------------------------------------------

def test_malformed_json(client):
    message = error_of(client.post(PREDICT, content=b'{"instances": [}'), 400)
    assert message.startswith("JSON Parse error")
    assert still_serves(client)


def test_both_instances_and_inputs(client):
    message = error_of(client.post(PREDICT, json={"instances": [{"sentences": STORY}],
                                                  "inputs": {"sentences": [STORY]}}), 400)
    assert "expecting only one of 'inputs' or 'instances'" in message
    assert still_serves(client)


def test_neither_instances_nor_inputs(client):
    message = error_of(client.post(PREDICT, json={"signature_name": "serving_default"}), 400)
    assert message == "Missing 'inputs' or 'instances' key"
    assert still_serves(client)


def test_wrong_number_of_sentences(client):
    message = error_of(client.post(PREDICT, json={"instances": [{"sentences": STORY[:3]}]}), 400)
    assert message == (f"each story needs {FRAMES} sentences, one per frame (frames_per_story "
                       "of this model); got 3")
    assert still_serves(client)


def test_sentences_that_are_not_strings(client):
    message = error_of(client.post(PREDICT, json={"instances": [
        {"sentences": [1, 2, 3, 4, 5]}]}), 400)
    assert "JSON Value: 1 Type: Number is not of expected type: string" in message
    assert message.startswith("Failed to process element: 0 key: sentences")
    assert still_serves(client)


def test_empty_sentence(client):
    story = [*STORY[:2], "  ", *STORY[3:]]
    message = error_of(client.post(PREDICT, json={"instances": [{"sentences": STORY},
                                                                {"sentences": story}]}), 400)
    assert message == "sentence 3 of story 2 is empty (no words): every frame needs a sentence"
    assert still_serves(client)


def test_over_long_sentence(client):
    story = [*STORY[:4], " ".join(["Pip"] * (MAX_SENTENCE_LENGTH + 1))]
    message = error_of(client.post(PREDICT, json={"instances": [{"sentences": story}]}), 400)
    assert message == (f"sentence 5 of story 1 has {MAX_SENTENCE_LENGTH + 1} words; this model "
                       f"reads at most {MAX_SENTENCE_LENGTH} (its max_sentence_length): "
                       "shorten it")
    assert still_serves(client)


def test_too_many_stories(client):
    message = error_of(client.post(PREDICT, json={"inputs": {"sentences": [STORY] * 5}}), 400)
    assert message == ("a request holds 1 to 4 stories (--max_stories_per_request); this one "
                       "holds 5")
    assert still_serves(client)


def test_unknown_model(client):
    message = error_of(client.post("/v1/models/other:predict", json={
        "instances": [{"sentences": STORY}]}), 404)
    assert message.startswith("Servable not found for request: Latest(other)")
    assert error_of(client.get("/v1/models/other"), 404).startswith(
        "Could not find any versions of model other")
    assert still_serves(client)


def test_unknown_version(client):
    message = error_of(client.post(f"/v1/models/{MODEL}/versions/9:predict", json={
        "instances": [{"sentences": STORY}]}), 404)
    assert message == (f"Servable not found for request: Specific({MODEL}, 9) (available "
                       "versions: 1)")
    assert error_of(client.get(f"/v1/models/{MODEL}/versions/9/metadata"), 404).startswith(
        f"Servable not found for request: Specific({MODEL}, 9)")
    assert still_serves(client)


def test_wrong_method(client):
    message = error_of(client.get(PREDICT), 400)
    assert message.startswith(f"Malformed request: GET {PREDICT}")
    assert error_of(client.delete(f"/v1/models/{MODEL}"), 400).startswith(
        f"Malformed request: DELETE /v1/models/{MODEL}")
    assert still_serves(client)


def test_unknown_signature(client):
    message = error_of(client.post(PREDICT, json={"signature_name": "classify",
                                                  "instances": [{"sentences": STORY}]}), 400)
    assert message.startswith('Serving signature name: "classify" not found in signature def')
    assert still_serves(client)


def test_ragged_stories(client):
    message = error_of(client.post(PREDICT, json={"inputs": {"sentences": [STORY, STORY[:4]]}}),
                       400)
    assert message == "Encountered list at unexpected size: 4 at level: 1 expected size: 5"
    assert still_serves(client)
