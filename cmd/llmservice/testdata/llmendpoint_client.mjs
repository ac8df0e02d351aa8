// A LlmEndpoint client with Node's global fetch, as the seed documents the
// API (see llmendpoint_client.py for the same in Python).
const [baseURL, apiKey] = process.argv.slice(2);
const headers = { Authorization: apiKey, "Content-Type": "application/json" };
const payload = {
  messages: [{ role: "user", content: "What is the meaning of life?" }],
  model: "llama3.1",
  max_tokens: 100,
  temperature: 0.7,
  stream: false,
};

let res = await fetch(`${baseURL}/api/v1/completions`, { method: "POST", headers, body: JSON.stringify(payload) });
const data = await res.json();
if (!res.ok || data.success !== true) throw new Error(JSON.stringify(data));
console.log("response:", data.response);

res = await fetch(`${baseURL}/api/v1/completions`, { method: "POST", headers, body: JSON.stringify({ ...payload, stream: true }) });
const reader = res.body.getReader();
const decoder = new TextDecoder();
let buffered = "", text = "";
for (;;) {
  const { done, value } = await reader.read();
  if (done) break;
  buffered += decoder.decode(value, { stream: true });
  let nl;
  while ((nl = buffered.indexOf("\n")) >= 0) {
    const line = buffered.slice(0, nl).trim();
    buffered = buffered.slice(nl + 1);
    if (line) {
      const chunk = JSON.parse(line);
      if (chunk.role !== "assistant") throw new Error(line);
      text += chunk.content;
    }
  }
}
console.log("streamed:", text);

res = await fetch(`${baseURL}/api/v1/completions`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload) });
const err = await res.json();
console.log("error:", res.status, err.success ? "True" : "False", err.message);
