// Scenarios of the official @anthropic-ai/sdk against llmservice's Messages
// API. Usage: node anthropic-sdk.mjs BASE_URL KEY MODEL [AUTH]
// AUTH is "bearer" (the SDK's apiKey, sent as Authorization: Bearer) or
// "x-api-key". Prints one JSON line per scenario ({"name","ok","error"})
// and exits 1 when any failed. The upstream fakes' policies differ (see
// internal/provider/providertest), so the checks are those every family
// must meet: text answers, tool calls that round-trip, thinking blocks sent
// back as received, usage, count_tokens, models.list, errors in Anthropic's
// shape.
import Anthropic from '@anthropic-ai/sdk';

const [base, key, model, auth = 'bearer'] = process.argv.slice(2);
if (!base || !key || !model) {
	console.error('usage: node anthropic-sdk.mjs BASE_URL KEY MODEL [bearer|x-api-key]');
	process.exit(2);
}

function client(k = key) {
	if (auth === 'x-api-key') {
		return new Anthropic({ baseURL: base, apiKey: null, authToken: null, defaultHeaders: { 'x-api-key': k }, maxRetries: 0 });
	}
	return new Anthropic({ baseURL: base, apiKey: k, maxRetries: 0 });
}

const c = client();
const tools = [{
	name: 'Bash',
	description: 'Runs a shell command',
	input_schema: { type: 'object', properties: { command: { type: 'string' }, query: { type: 'string' } } },
}];

function assert(cond, msg) {
	if (!cond) throw new Error(msg);
}

function text(msg) {
	return msg.content.filter((b) => b.type === 'text').map((b) => b.text).join('');
}

function checkUsage(msg) {
	assert(msg.usage && msg.usage.input_tokens + (msg.usage.cache_read_input_tokens ?? 0) > 0, 'no input tokens: ' + JSON.stringify(msg.usage));
	assert(msg.usage.output_tokens > 0, 'no output tokens: ' + JSON.stringify(msg.usage));
}

// toolTurn asks for a tool call, sends its result back, and checks the
// answer quotes the result.
async function toolTurn(stream) {
	const first = [{ role: 'user', content: 'TOOLTEST weather in Paris' }];
	const call = async (messages) => {
		const p = { model, max_tokens: 256, tools, messages };
		return stream ? c.messages.stream(p).finalMessage() : c.messages.create(p);
	};
	const m1 = await call(first);
	const use = m1.content.find((b) => b.type === 'tool_use');
	assert(use, 'no tool_use block: ' + JSON.stringify(m1.content));
	assert(m1.stop_reason === 'tool_use', 'stop_reason ' + m1.stop_reason);
	assert(use.name === 'Bash' && typeof use.input === 'object' && use.input !== null, 'tool_use ' + JSON.stringify(use));
	assert(use.id, 'tool_use without id');
	const m2 = await call([
		...first,
		{ role: 'assistant', content: m1.content },
		{ role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'sunny and 21C' }] },
	]);
	assert(text(m2).includes('sunny and 21C'), 'answer does not quote the tool result: ' + text(m2));
}

const scenarios = {
	async create() {
		const m = await c.messages.create({ model, max_tokens: 256, system: 'be brief', messages: [{ role: 'user', content: 'hello sdk' }] });
		assert(m.type === 'message' && m.role === 'assistant', 'shape ' + JSON.stringify(m));
		assert(m.model === model, `model ${m.model}; want ${model}`);
		assert(text(m).includes('hello sdk'), 'text ' + text(m));
		assert(m.stop_reason === 'end_turn', 'stop_reason ' + m.stop_reason);
		checkUsage(m);
	},
	async stream() {
		const s = c.messages.stream({ model, max_tokens: 256, messages: [{ role: 'user', content: 'stream me please' }] });
		let deltas = 0;
		s.on('text', () => deltas++);
		const m = await s.finalMessage();
		assert(text(m).includes('stream me please'), 'text ' + text(m));
		assert(deltas >= 1, 'no text events');
		assert(m.model === model, `model ${m.model}; want ${model}`);
		checkUsage(m);
	},
	async rawStreamEvents() {
		const s = await c.messages.create({ model, max_tokens: 256, stream: true, messages: [{ role: 'user', content: 'events please' }] });
		const types = [];
		for await (const ev of s) types.push(ev.type);
		assert(types[0] === 'message_start', 'first event ' + types[0]);
		assert(types.at(-1) === 'message_stop', 'last event ' + types.at(-1));
		assert(types.includes('content_block_start') && types.includes('content_block_stop') && types.includes('message_delta'), 'events ' + types);
	},
	async tools() { await toolTurn(false); },
	async streamTools() { await toolTurn(true); },
	async thinking() {
		const first = [{ role: 'user', content: 'TOOLTEST think first' }];
		const p = { model, max_tokens: 2048, thinking: { type: 'enabled', budget_tokens: 1024 }, tools };
		const m1 = await c.messages.stream({ ...p, messages: first }).finalMessage();
		const use = m1.content.find((b) => b.type === 'tool_use');
		assert(use, 'no tool_use: ' + JSON.stringify(m1.content));
		for (const b of m1.content.filter((b) => b.type === 'thinking')) {
			assert(b.signature, 'thinking block without signature');
		}
		// The thinking blocks go back as received; an Anthropic upstream
		// checks their signatures.
		const m2 = await c.messages.create({ ...p, messages: [...first, { role: 'assistant', content: m1.content },
			{ role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: 'done' }] }] });
		assert(text(m2).includes('done'), 'text ' + text(m2));
	},
	async countTokens() {
		const r = await c.messages.countTokens({ model, system: 'be brief', tools, messages: [{ role: 'user', content: 'count these words please' }] });
		assert(Number.isInteger(r.input_tokens) && r.input_tokens > 0, 'input_tokens ' + JSON.stringify(r));
	},
	async modelsList() {
		const page = await c.models.list();
		assert(Array.isArray(page.data), 'no data');
		for (const m of page.data) assert(m.type === 'model' && m.id && m.created_at, 'model ' + JSON.stringify(m));
	},
	async badKey() {
		try {
			await client('sk-not-a-key').messages.create({ model, max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
		} catch (e) {
			assert(e instanceof Anthropic.AuthenticationError, 'error class ' + e.constructor.name);
			assert(e.status === 401 && e.error?.type === 'error' && e.error?.error?.type === 'authentication_error', 'error ' + JSON.stringify(e.error));
			return;
		}
		throw new Error('a bad key was accepted');
	},
	async unknownModel() {
		try {
			await c.messages.create({ model: 'no-such-model-anywhere', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }] });
		} catch (e) {
			assert(e instanceof Anthropic.NotFoundError, 'error class ' + e.constructor.name);
			assert(e.error?.error?.type === 'not_found_error', 'error ' + JSON.stringify(e.error));
			return;
		}
		throw new Error('an unknown model was served');
	},
	async badRequest() {
		try {
			await c.messages.create({ model, max_tokens: 16, messages: [] });
		} catch (e) {
			assert(e instanceof Anthropic.BadRequestError, 'error class ' + e.constructor.name);
			assert(e.error?.error?.type === 'invalid_request_error', 'error ' + JSON.stringify(e.error));
			return;
		}
		throw new Error('an empty conversation was served');
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
