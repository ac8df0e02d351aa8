// Scenarios of the Vercel AI SDK (ai + @ai-sdk/openai, whose default model
// speaks the Responses API) against llmservice. Usage:
// node ai-sdk.mjs BASE_URL KEY MODEL. Prints one JSON line per scenario
// ({"name","ok","error"}) and exits 1 when any failed.
import { generateText, streamText } from 'ai';
import { createOpenAI } from '@ai-sdk/openai';

const [base, key, model] = process.argv.slice(2);
if (!base || !key || !model) {
	console.error('usage: node ai-sdk.mjs BASE_URL KEY MODEL');
	process.exit(2);
}

const openai = createOpenAI({ baseURL: base + '/v1', apiKey: key });

function assert(cond, msg) {
	if (!cond) throw new Error(msg);
}

const scenarios = {
	async generate() {
		const r = await generateText({ model: openai(model), prompt: 'hello ai sdk', maxRetries: 0 });
		assert(r.text.includes('hello ai sdk'), 'text ' + r.text);
		assert(r.usage.inputTokens > 0 && r.usage.outputTokens > 0, 'usage ' + JSON.stringify(r.usage));
	},
	async stream() {
		const r = streamText({ model: openai(model), prompt: 'stream ai sdk', maxRetries: 0 });
		let s = '';
		for await (const d of r.textStream) s += d;
		assert(s.includes('stream ai sdk'), 'text ' + s);
		const u = await r.usage;
		assert(u.inputTokens > 0, 'usage ' + JSON.stringify(u));
	},
};

let failed = 0;
for (const [name, fn] of Object.entries(scenarios)) {
	try {
		await fn();
		console.log(JSON.stringify({ name, ok: true }));
	} catch (e) {
		failed++;
		console.log(JSON.stringify({ name, ok: false, error: String(e?.stack ?? e) }));
	}
}
process.exit(failed ? 1 : 0);
