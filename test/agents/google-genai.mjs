// Scenarios of the official @google/genai SDK against llmservice's Gemini
// API. Usage: node google-genai.mjs BASE_URL KEY MODEL [v1|v1beta]
// Prints one JSON line per scenario ({"name","ok","error"}) and exits 1
// when any failed. The checks are those every upstream family must meet:
// text answers that quote the prompt (the fakes' policy), streams whose
// last chunk carries usageMetadata, function calls that round-trip,
// countTokens, models.list, errors in Google's shape.
import { GoogleGenAI, ApiError } from '@google/genai';

const [base, key, model, apiVersion = 'v1'] = process.argv.slice(2);
if (!base || !key || !model) {
	console.error('usage: node google-genai.mjs BASE_URL KEY MODEL [v1|v1beta]');
	process.exit(2);
}

function client(k = key) {
	return new GoogleGenAI({ apiKey: k, httpOptions: { baseUrl: base, apiVersion } });
}

const ai = client();
const tools = [{
	functionDeclarations: [{
		name: 'Bash',
		description: 'Runs a shell command',
		parametersJsonSchema: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] },
	}],
}];

function assert(cond, msg) {
	if (!cond) throw new Error(msg);
}

function checkUsage(u) {
	assert(u && u.promptTokenCount > 0 && u.totalTokenCount > u.promptTokenCount, 'usageMetadata ' + JSON.stringify(u));
}

async function expectError(fn, status, what) {
	try {
		await fn();
	} catch (e) {
		assert(e instanceof ApiError, 'error class ' + e.constructor.name + ': ' + e);
		assert(e.status === status, `status ${e.status}; want ${status}: ${e.message}`);
		return;
	}
	throw new Error(what + ' was served');
}

// toolTurn asks for a function call, sends its result back, and checks the
// answer quotes the result.
async function toolTurn(stream) {
	const first = [{ role: 'user', parts: [{ text: 'TOOLTEST weather in Paris' }] }];
	const call = async (contents) => {
		const p = { model, contents, config: { tools } };
		if (!stream) return ai.models.generateContent(p);
		let calls = [], text = '';
		for await (const c of await ai.models.generateContentStream(p)) {
			calls.push(...(c.functionCalls ?? []));
			text += c.text ?? '';
		}
		return { functionCalls: calls, text, candidates: [{ content: { role: 'model', parts: calls.map((fc) => ({ functionCall: fc })) } }] };
	};
	const r1 = await call(first);
	const fc = r1.functionCalls?.[0];
	assert(fc && fc.name === 'Bash' && typeof fc.args === 'object', 'function call ' + JSON.stringify(r1.candidates));
	const r2 = await call([
		...first,
		r1.candidates[0].content,
		{ role: 'user', parts: [{ functionResponse: { id: fc.id, name: fc.name, response: { output: 'sunny and 21C' } } }] },
	]);
	assert((r2.text ?? '').includes('sunny and 21C'), 'answer does not quote the tool result: ' + r2.text);
}

const scenarios = {
	async generateContent() {
		const r = await ai.models.generateContent({ model, contents: 'hello sdk', config: { systemInstruction: 'be brief', maxOutputTokens: 256 } });
		assert((r.text ?? '').includes('hello sdk'), 'text ' + r.text);
		assert(r.candidates?.[0]?.finishReason === 'STOP', 'finishReason ' + r.candidates?.[0]?.finishReason);
		checkUsage(r.usageMetadata);
	},
	async stream() {
		let text = '', n = 0, last;
		for await (const c of await ai.models.generateContentStream({ model, contents: 'stream me please' })) {
			text += c.text ?? '';
			n++;
			last = c;
		}
		assert(n >= 1 && text.includes('stream me please'), `text ${text} in ${n} chunks`);
		checkUsage(last.usageMetadata);
		assert(last.candidates?.[0]?.finishReason === 'STOP', 'last finishReason ' + JSON.stringify(last.candidates));
	},
	async tools() { await toolTurn(false); },
	async streamTools() { await toolTurn(true); },
	async countTokens() {
		const r = await ai.models.countTokens({ model, contents: 'count these words please' });
		assert(Number.isInteger(r.totalTokens) && r.totalTokens > 0, 'totalTokens ' + JSON.stringify(r));
	},
	async modelsList() {
		const names = [];
		for await (const m of await ai.models.list()) names.push(m.name);
		assert(names.length > 0 && names.every((n) => n.startsWith('models/')), 'models ' + JSON.stringify(names));
	},
	async badKey() {
		await expectError(() => client('sk-not-a-key').models.generateContent({ model, contents: 'hi' }), 401, 'a bad key');
	},
	async unknownModel() {
		await expectError(() => ai.models.generateContent({ model: 'no-such-model-anywhere', contents: 'hi' }), 404, 'an unknown model');
	},
	async badRequest() {
		await expectError(() => ai.models.generateContent({ model, contents: 'hi', config: { maxOutputTokens: 0 } }), 400, 'maxOutputTokens 0');
	},
};

let failed = 0;
for (const [name, fn] of Object.entries(scenarios)) {
	try {
		await fn();
		console.log(JSON.stringify({ name, ok: true }));
	} catch (e) {
		failed++;
		console.log(JSON.stringify({ name, ok: false, error: String(e?.stack ?? e).slice(0, 2000) }));
	}
}
process.exit(failed ? 1 : 0);
