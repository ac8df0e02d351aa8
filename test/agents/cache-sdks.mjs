// The response cache read by the official SDKs: an answer first served
// whole is replayed as a stream, and an answer first streamed is served
// whole, each read by the SDK of its protocol (@anthropic-ai/sdk for
// Messages, openai for Responses, @google/genai for generateContent).
// Usage: node cache-sdks.mjs BASE_URL KEY ANTHROPIC_MODEL OPENAI_MODEL GEMINI_MODEL
// The caller's team has the cache on; the test counts the upstream calls.
// Prints one JSON line per scenario ({"name","ok","error"}) and exits 1
// when any failed.
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { GoogleGenAI } from '@google/genai';

const [base, key, anthropicModel, openaiModel, geminiModel] = process.argv.slice(2);
if (!base || !key || !anthropicModel || !openaiModel || !geminiModel) {
	console.error('usage: node cache-sdks.mjs BASE_URL KEY ANTHROPIC_MODEL OPENAI_MODEL GEMINI_MODEL');
	process.exit(2);
}

const an = new Anthropic({ baseURL: base, apiKey: key, maxRetries: 0 });
const oa = new OpenAI({ baseURL: base + '/v1', apiKey: key, maxRetries: 0 });
const ge = new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: base, apiVersion: 'v1beta' } });

function assert(cond, msg) {
	if (!cond) throw new Error(msg);
}

// same checks that a replay carries the answer first served: its text
// (non-empty), and that the second call was a hit.
function same(a, b, header, what) {
	assert(a.length > 0, what + ': empty answer');
	assert(a === b, `${what}: ${JSON.stringify(a)} then ${JSON.stringify(b)}`);
	assert(header === 'hit', `${what}: x-llmservice-cache ${header}; want hit`);
}

const anthropic = {
	async whole(content) {
		const { data, response } = await an.messages.create({ model: anthropicModel, max_tokens: 256, messages: [{ role: 'user', content }] }).withResponse();
		assert(data.model === anthropicModel, 'model ' + data.model);
		return [data.content.filter((b) => b.type === 'text').map((b) => b.text).join(''), response.headers.get('x-llmservice-cache'), data];
	},
	async stream(content) {
		const s = an.messages.stream({ model: anthropicModel, max_tokens: 256, messages: [{ role: 'user', content }] });
		const { response } = await s.withResponse();
		const m = await s.finalMessage();
		assert(m.model === anthropicModel, 'model ' + m.model);
		assert(m.stop_reason === 'end_turn', 'stop_reason ' + m.stop_reason);
		assert(m.usage.output_tokens > 0, 'usage ' + JSON.stringify(m.usage));
		return [m.content.filter((b) => b.type === 'text').map((b) => b.text).join(''), response.headers.get('x-llmservice-cache'), m];
	},
};

function outputText(r) {
	return r.output.filter((it) => it.type === 'message').flatMap((it) => it.content).map((p) => p.text ?? '').join('');
}

const responses = {
	async whole(input) {
		const { data, response } = await oa.responses.create({ model: openaiModel, input, store: false }).withResponse();
		assert(data.model === openaiModel, 'model ' + data.model);
		return [outputText(data), response.headers.get('x-llmservice-cache'), data];
	},
	async stream(input) {
		const s = oa.responses.stream({ model: openaiModel, input, store: false });
		const types = [];
		for await (const ev of s) types.push(ev.type);
		const r = await s.finalResponse();
		assert(types[0] === 'response.created' && types.at(-1) === 'response.completed', 'events ' + types);
		assert(types.includes('response.output_text.delta'), 'no text delta in ' + types);
		assert(r.model === openaiModel, 'model ' + r.model);
		// The stream helper does not expose the headers: the test counts the
		// upstream calls instead.
		return [outputText(r), 'hit', r];
	},
};

const gemini = {
	async whole(text) {
		const r = await ge.models.generateContent({ model: geminiModel, contents: text });
		assert(r.usageMetadata && r.usageMetadata.promptTokenCount > 0, 'usage ' + JSON.stringify(r.usageMetadata));
		return [r.text, r.sdkHttpResponse?.headers?.['x-llmservice-cache'] ?? 'hit', r];
	},
	async stream(text) {
		let out = '';
		let last;
		for await (const ch of await ge.models.generateContentStream({ model: geminiModel, contents: text })) {
			out += ch.text ?? '';
			last = ch;
		}
		assert(last?.candidates?.[0]?.finishReason === 'STOP', 'finish ' + JSON.stringify(last?.candidates));
		return [out, last?.sdkHttpResponse?.headers?.['x-llmservice-cache'] ?? 'hit', last];
	},
};

const scenarios = {};
for (const [name, api] of Object.entries({ anthropic, responses, gemini })) {
	scenarios[name + 'StreamAfterWhole'] = async () => {
		const [a] = await api.whole(name + ' cached whole, replayed as a stream');
		const [b, h] = await api.stream(name + ' cached whole, replayed as a stream');
		same(a, b, h, 'stream after whole');
	};
	scenarios[name + 'WholeAfterStream'] = async () => {
		const [a] = await api.stream(name + ' cached stream, replayed whole');
		const [b, h] = await api.whole(name + ' cached stream, replayed whole');
		same(a, b, h, 'whole after stream');
	};
}

let failed = false;
for (const [name, fn] of Object.entries(scenarios)) {
	try {
		await fn();
		console.log(JSON.stringify({ name, ok: true }));
	} catch (e) {
		failed = true;
		console.log(JSON.stringify({ name, ok: false, error: String(e?.stack ?? e) }));
	}
}
process.exit(failed ? 1 : 0);
