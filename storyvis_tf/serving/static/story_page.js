// The story page: one sentence per frame -> POST :predict (TF Serving's row format) -> one PNG
// per frame under its sentence. Settings and examples come from story_page.json; every failure
// (settings, network, the API's {"error": ...}) is shown in #error. body[data-state] is
// loading | ready | generating | done | error.
"use strict";

const page = {
  form: document.getElementById("story-form"),
  frames: document.getElementById("frames"),
  example: document.getElementById("example"),
  seed: document.getElementById("seed"),
  generate: document.getElementById("generate"),
  model: document.getElementById("model"),
  error: document.getElementById("error"),
};
let settings = null;

function setState(state) {
  document.body.dataset.state = state;
}

function showError(message) {
  page.error.textContent = message;
  page.error.hidden = false;
  setState("error");
}

function clearError() {
  page.error.textContent = "";
  page.error.hidden = true;
}

async function readJson(response) {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch (_) {
    return { error: `HTTP ${response.status}: ${text.slice(0, 200)}` };
  }
}

function buildFrames(count, size) {
  page.frames.replaceChildren();
  for (let i = 0; i < count; i++) {
    const item = document.createElement("li");
    item.className = "frame";
    const label = document.createElement("label");
    label.textContent = `Frame ${i + 1}`;
    const sentence = document.createElement("textarea");
    sentence.name = "sentence";
    sentence.rows = 3;
    sentence.placeholder = "What happens in this frame?";
    label.append(document.createElement("br"), sentence);
    const image = document.createElement("img");
    image.alt = `Frame ${i + 1}`;
    image.width = size;
    image.height = size;
    item.append(label, image);
    page.frames.append(item);
  }
}

function sentenceFields() {
  return Array.from(page.frames.querySelectorAll("textarea[name=sentence]"));
}

function fillExamples(examples) {
  examples.forEach((story, i) => {
    const option = document.createElement("option");
    option.value = String(i);
    option.textContent = `${i + 1}. ${story[0]}`;
    page.example.append(option);
  });
  page.example.disabled = examples.length === 0;
}

page.example.addEventListener("change", () => {
  if (page.example.value === "") return;
  const story = settings.examples[Number(page.example.value)];
  sentenceFields().forEach((field, i) => { field.value = story[i]; });
});

page.form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearError();
  const seed = Number(page.seed.value);
  if (!Number.isInteger(seed)) {
    showError("The seed must be a whole number.");
    return;
  }
  const sentences = sentenceFields().map((field) => field.value);
  setState("generating");
  page.generate.disabled = true;
  try {
    const response = await fetch(`v1/models/${encodeURIComponent(settings.model_name)}:predict`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ instances: [{ sentences: sentences, seed: seed }] }),
    });
    const body = await readJson(response);
    if (!response.ok || body.error) {
      showError(body.error || `HTTP ${response.status}`);
      return;
    }
    const pngs = body.predictions[0].images_bytes;
    const images = Array.from(page.frames.querySelectorAll("img"));
    await Promise.all(images.map((image, i) => new Promise((resolve) => {
      image.onload = resolve;
      image.onerror = resolve;
      image.src = `data:image/png;base64,${pngs[i].b64}`;
    })));
    setState("done");
  } catch (error) {
    showError(`The request failed: ${error.message}`);
  } finally {
    page.generate.disabled = false;
  }
});

async function start() {
  setState("loading");
  try {
    const response = await fetch("story_page.json");
    const body = await readJson(response);
    if (!response.ok || body.error) {
      page.model.textContent = "No model to use.";
      showError(body.error || `HTTP ${response.status}`);
      return;
    }
    settings = body;
    page.model.textContent = `Model ${settings.model_name}, version ${settings.version}: ` +
      `${settings.frames_per_story} frames of ${settings.image_size}×${settings.image_size} ` +
      `pixels, at most ${settings.max_sentence_length} words per sentence.`;
    buildFrames(settings.frames_per_story, settings.image_size);
    fillExamples(settings.examples);
    page.generate.disabled = false;
    setState("ready");
  } catch (error) {
    showError(`Could not reach the server: ${error.message}`);
  }
}

start();
