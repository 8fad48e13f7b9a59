// The page at `/` of `emotune serve`: predicts an essay through /v1/predict, then explains the
// selected output through /v1/explain (one output a request, cached per essay). Plain DOM, no
// framework, nothing fetched from anywhere but this server.
// URL parameters: ?essay=TEXT fills the box; &analyse=1 also analyses it (links that show a
// result). document.body.dataset.state is "busy", "done" or "error" (automation waits on it).
"use strict";

const $ = (id) => document.getElementById(id);
const state = { info: null, text: "", prediction: null, explanations: new Map(), canExplain: true };

// The shades of style.css (--raises, --lowers): orange raises the output, purple lowers it.
const RAISES_RGB = "230, 97, 1";
const LOWERS_RGB = "94, 60, 153";

// The model's emotion classes as GET /v1/model reports them (the server owns the list), else
// those of the prediction shown.
function emotionLabels() {
  if (state.info && Array.isArray(state.info.emotion_labels) && state.info.emotion_labels.length)
    return state.info.emotion_labels;
  const emotion = state.prediction && state.prediction.emotion;
  return emotion ? Object.keys(emotion.probabilities) : [];
}

function titleCase(word) {
  return word.charAt(0).toUpperCase() + word.slice(1);
}

function outputTitle(name) {
  if (name.startsWith("emotion:")) return `${titleCase(name.slice(8))} (probability)`;
  return titleCase(name);
}

function setStatus(text) {
  $("status").textContent = text;
}

function showError(message) {
  const error = $("error");
  error.textContent = message;
  error.hidden = !message;
  if (message) document.body.dataset.state = "error";
}

async function postJson(path, body) {
  const response = await fetch(path, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  let answer = null;
  try {
    answer = await response.json();
  } catch (e) {
    answer = null;
  }
  if (!response.ok) {
    const message = answer && answer.error ? answer.error.message : `HTTP ${response.status}`;
    const error = new Error(message);
    error.status = response.status;
    throw error;
  }
  return answer;
}

function tasks() {
  return state.info ? state.info.tasks : ["empathy", "distress", "emotion"];
}

function outputNames() {
  const names = [];
  for (const task of ["empathy", "distress"]) if (tasks().includes(task)) names.push(task);
  if (tasks().includes("emotion")) for (const label of emotionLabels()) names.push(`emotion:${label}`);
  return names;
}

function renderScale(task, value) {
  const box = $(`${task}-score`);
  if (value === undefined || value === null) {
    box.hidden = true;
    return;
  }
  box.hidden = false;
  const clamped = Math.min(7, Math.max(1, value));
  $(`${task}-value`).textContent = value.toFixed(2);
  $(`${task}-fill`).style.width = `${((clamped - 1) / 6) * 100}%`;
  $(`${task}-scale`).setAttribute("aria-label",
      `${titleCase(task)} ${value.toFixed(2)} on a scale from 1 to 7`);
}

function renderPrediction(prediction) {
  renderScale("empathy", prediction.empathy);
  renderScale("distress", prediction.distress);
  $("scores").hidden = prediction.empathy === undefined && prediction.distress === undefined;
  const emotion = $("emotion");
  const bars = $("emotion-bars");
  bars.replaceChildren();
  if (!prediction.emotion) {
    emotion.hidden = true;
    return;
  }
  emotion.hidden = false;
  $("emotion-label").textContent = prediction.emotion.label;
  for (const label of emotionLabels()) {
    const p = prediction.emotion.probabilities[label] || 0;
    const item = document.createElement("li");
    item.className = "emotion-bar" + (label === prediction.emotion.label ? " predicted" : "");
    item.dataset.label = label;
    item.dataset.probability = String(p);
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = label;
    const track = document.createElement("span");
    track.className = "track";
    track.setAttribute("role", "img");
    track.setAttribute("aria-label", `${label}: ${(p * 100).toFixed(1)} percent`);
    const fill = document.createElement("span");
    fill.className = "fill";
    fill.style.display = "block";
    fill.style.width = `${p * 100}%`;
    track.appendChild(fill);
    const pct = document.createElement("span");
    pct.className = "pct";
    pct.textContent = `${(p * 100).toFixed(1)}%`;
    item.append(name, track, pct);
    bars.appendChild(item);
  }
}

function fillOutputSelect(prediction) {
  const select = $("output-select");
  select.replaceChildren();
  for (const name of outputNames()) {
    const option = document.createElement("option");
    option.value = name;
    option.textContent = outputTitle(name);
    select.appendChild(option);
  }
  // Start with the first regression output, else the predicted emotion.
  if (tasks().includes("empathy")) select.value = "empathy";
  else if (tasks().includes("distress")) select.value = "distress";
  else if (prediction.emotion) select.value = `emotion:${prediction.emotion.label}`;
}

function shade(attribution, scale) {
  if (!scale || !attribution) return "transparent";
  // Alpha up to 0.6 keeps dark text above a 4.5:1 contrast on both colours.
  const alpha = Math.min(1, Math.abs(attribution) / scale) * 0.6;
  const colour = attribution > 0 ? RAISES_RGB : LOWERS_RGB;
  return `rgba(${colour}, ${alpha.toFixed(3)})`;
}

function renderExplanation(name, explanation) {
  const view = $("attributed-essay");
  view.replaceChildren();
  const values = explanation.words.map((word) => word.attributions[name] || 0);
  const scale = Math.max(0, ...values.map(Math.abs));
  explanation.words.forEach((word, i) => {
    if (word.before) view.appendChild(document.createTextNode(word.before));
    const span = document.createElement("span");
    span.className = "word" + (word.truncated ? " truncated" : "");
    span.textContent = word.text;
    span.dataset.attribution = String(values[i]);
    span.style.backgroundColor = shade(values[i], scale);
    span.title = word.truncated
        ? "beyond the model's maximum length: not seen"
        : `${values[i] >= 0 ? "+" : ""}${values[i].toFixed(4)}`;
    view.appendChild(span);
  });
  if (explanation.after) view.appendChild(document.createTextNode(explanation.after));

  const summary = explanation.outputs.find((output) => output.name === name);
  if (summary) {
    $("completeness").textContent =
        `${outputTitle(name)}: ${summary.value.toFixed(4)} for this essay, ` +
        `${summary.baseline.toFixed(4)} with every word blanked out (${explanation.method.baseline} baseline); ` +
        `the word contributions add up to ${summary.attribution_sum.toFixed(4)} ` +
        `(gap ${summary.completeness_gap.toExponential(1)}, ${explanation.method.steps} steps).`;
  }
  const ranked = explanation.words
      .map((word, i) => ({ text: word.text, value: values[i] }))
      .filter((word) => word.value !== 0);
  const list = (id, words) => {
    const target = $(id);
    target.replaceChildren();
    for (const word of words.slice(0, 8)) {
      const item = document.createElement("li");
      item.textContent = `${word.text} (${word.value >= 0 ? "+" : ""}${word.value.toFixed(4)})`;
      target.appendChild(item);
    }
  };
  list("top-raise", ranked.filter((w) => w.value > 0).sort((a, b) => b.value - a.value));
  list("top-lower", ranked.filter((w) => w.value < 0).sort((a, b) => a.value - b.value));
  $("explanation").hidden = false;
}

async function explainSelected() {
  const name = $("output-select").value;
  if (!name || !state.canExplain) return;
  const text = state.text;
  let explanation = state.explanations.get(name);
  if (!explanation) {
    document.body.dataset.state = "busy";
    setStatus(`Working out which words drove ${outputTitle(name).toLowerCase()}…`);
    try {
      explanation = await postJson("/v1/explain", { essay: text, outputs: [name] });
    } catch (error) {
      if (error.status === 501 || error.status === 404) {
        state.canExplain = false;
        $("explanation").hidden = true;
        const note = $("no-explanation");
        note.textContent = `Word attributions are not available here: ${error.message}`;
        note.hidden = false;
        setStatus("Done.");
        document.body.dataset.state = "done";
        return;
      }
      throw error;
    }
    if (text !== state.text) return;  // a newer essay was analysed meanwhile
    state.explanations.set(name, explanation);
  }
  renderExplanation(name, explanation);
  setStatus("Done.");
  document.body.dataset.state = "done";
}

async function analyse() {
  const text = $("essay").value;
  showError("");
  if (!text.trim()) {
    showError("Paste or type an essay first.");
    $("essay").focus();
    return;
  }
  const button = $("analyse");
  button.disabled = true;
  document.body.dataset.state = "busy";
  setStatus("Predicting…");
  try {
    const answer = await postJson("/v1/predict", { essays: [text] });
    const prediction = answer.predictions[0];
    state.text = text;
    state.prediction = prediction;
    state.explanations = new Map();
    $("results").hidden = false;
    renderPrediction(prediction);
    fillOutputSelect(prediction);
    $("no-explanation").hidden = true;
    await explainSelected();
  } catch (error) {
    setStatus("");
    showError(`Could not analyse the essay: ${error.message}`);
  } finally {
    button.disabled = false;
  }
}

async function loadModelInfo() {
  try {
    const response = await fetch("/v1/model");
    state.info = await response.json();
    $("model-info").textContent =
        `Model: ${state.info.backbone}, predicting ${state.info.tasks.join(", ")} ` +
        `(essays longer than ${state.info.max_length} tokens are cut).`;
  } catch (error) {
    $("model-info").textContent = "The model description could not be loaded.";
  }
}

async function main() {
  document.body.dataset.state = "idle";
  $("essay-form").addEventListener("submit", (event) => {
    event.preventDefault();
    analyse();
  });
  $("essay").addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      $("essay-form").requestSubmit();
    }
  });
  $("output-select").addEventListener("change", () => {
    explainSelected().catch((error) => showError(`Could not explain: ${error.message}`));
  });
  await loadModelInfo();
  const params = new URLSearchParams(window.location.search);
  if (params.has("essay")) $("essay").value = params.get("essay");
  if (params.get("analyse") === "1") $("essay-form").requestSubmit();
}

main();
