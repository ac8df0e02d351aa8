// Scenarios of the official openai Node SDK (v6) against llmservice's
// Responses API. Usage: node openai-sdk.mjs BASE_URL KEY MODEL OTHER_MODEL
// OTHER_MODEL is a model of another provider family, on which a stored
// conversation begun on MODEL continues. Prints one JSON line per scenario
// ({"name","ok","error"}) and exits 1 when any failed. The upstream fakes'
// policies differ (see internal/provider/providertest), so the checks are
// those every family must meet.
import OpenAI from 'openai';

const [base, key, model, other] = process.argv.slice(2);
if (!base || !key || !model || !other) {
	console.error('usage: node openai-sdk.mjs BASE_URL KEY MODEL OTHER_MODEL');
	process.exit(2);
}

const c = new OpenAI({ baseURL: base + '/v1', apiKey: key, maxRetries: 0 });
const tools = [{
	type: 'function', name: 'exec_command', description: 'Runs a shell command', strict: false,
	parameters: { type: 'object', properties: { cmd: { type: 'string' }, query: { type: 'string' } } },
}];

function assert(cond, msg) {
	if (!cond) throw new Error(msg);
}

// text is the response's output text (what the SDK's output_text holds
// on create; a stream's final response does not carry it).
function text(r) {
	return r.output.filter((it) => it.type === 'message').flatMap((it) => it.content).map((p) => p.text ?? '').join('');
}

function checkUsage(r) {
	assert(r.usage && r.usage.input_tokens > 0 && r.usage.output_tokens > 0, 'usage ' + JSON.stringify(r.usage));
}

async function toolTurn(stream) {
	const first = [{ role: 'user', content: 'TOOLTEST weather in Paris' }];
	const call = (input) => {
		const p = { model, tools, input, store: false };
		return stream ? c.responses.stream(p).finalResponse() : c.responses.create(p);
	};
	const r1 = await call(first);
	const fc = r1.output.find((it) => it.type === 'function_call');
	assert(fc, 'no function_call: ' + JSON.stringify(r1.output));
	assert(fc.name === 'exec_command' && fc.call_id && JSON.parse(fc.arguments), 'function_call ' + JSON.stringify(fc));
	const r2 = await call([...first, ...r1.output, { type: 'function_call_output', call_id: fc.call_id, output: 'sunny and 21C' }]);
	assert(text(r2).includes('sunny and 21C'), 'answer does not quote the tool result: ' + text(r2));
}

const scenarios = {
	async create() {
		const r = await c.responses.create({ model, instructions: 'be brief', input: 'hello sdk' });
		assert(r.object === 'response' && r.status === 'completed', 'shape ' + JSON.stringify(r));
		assert(r.model === model, `model ${r.model}; want ${model}`);
		assert(r.output_text.includes('hello sdk'), 'text ' + r.output_text);
		checkUsage(r);
	},
	async stream() {
		const s = c.responses.stream({ model, input: 'stream me please' });
		const types = [];
		let seq = -1;
		for await (const ev of s) {
			types.push(ev.type);
			assert(ev.sequence_number > seq, `sequence_number ${ev.sequence_number} after ${seq}`);
			seq = ev.sequence_number;
		}
		const r = await s.finalResponse();
		assert(types[0] === 'response.created' && types[1] === 'response.in_progress', 'first events ' + types.slice(0, 2));
		assert(types.at(-1) === 'response.completed', 'last event ' + types.at(-1));
		for (const t of ['response.output_item.added', 'response.content_part.added', 'response.output_text.delta', 'response.output_text.done', 'response.output_item.done']) {
			assert(types.includes(t), 'no ' + t + ' in ' + types);
		}
		assert(text(r).includes('stream me please'), 'text ' + text(r));
		checkUsage(r);
	},
	async tools() { await toolTurn(false); },
	async streamTools() { await toolTurn(true); },
	async textFormat() {
		const r = await c.responses.create({ model, input: 'answer as JSON', text: { format: { type: 'json_schema', name: 'answer', strict: true,
			schema: { type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false } } } });
		assert(r.status === 'completed' && r.text.format.type === 'json_schema', 'response ' + JSON.stringify(r.text));
	},
	async previousResponse() {
		for (const m of [model, other]) {
			const r1 = await c.responses.create({ model, input: 'first turn' });
			const r2 = await c.responses.create({ model: m, previous_response_id: r1.id, input: 'second turn' });
			// The pass-through lane answers with the upstream's view: it was sent
			// the whole conversation, with no previous_response_id.
			assert(r2.previous_response_id === r1.id || r2.previous_response_id == null, 'previous_response_id ' + r2.previous_response_id);
			assert(r2.output_text.includes('second turn'), `${m}: text ` + r2.output_text);
			const items = await c.responses.inputItems.list(r2.id, { order: 'asc' });
			assert(items.data.length === 3, `${m}: input_items ` + JSON.stringify(items.data));
		}
	},
	async retrieveDelete() {
		const r = await c.responses.create({ model, input: 'keep me' });
		const got = await c.responses.retrieve(r.id);
		assert(got.id === r.id && got.output_text.includes('keep me'), 'retrieved ' + JSON.stringify(got));
		await c.responses.delete(r.id);
		try {
			await c.responses.retrieve(r.id);
		} catch (e) {
			assert(e instanceof OpenAI.NotFoundError, 'error class ' + e.constructor.name);
			return;
		}
		throw new Error('a deleted response was retrieved');
	},
	async inputTokens() {
		const r = await c.responses.inputTokens.count({ model, input: 'count these words please', tools });
		assert(Number.isInteger(r.input_tokens) && r.input_tokens > 0, 'input_tokens ' + JSON.stringify(r));
	},
	async badKey() {
		try {
			await new OpenAI({ baseURL: base + '/v1', apiKey: 'sk-not-a-key', maxRetries: 0 }).responses.create({ model, input: 'hi' });
		} catch (e) {
			assert(e instanceof OpenAI.AuthenticationError && e.status === 401, 'error ' + e.constructor.name + ' ' + e.status);
			return;
		}
		throw new Error('a bad key was accepted');
	},
	async badRequest() {
		try {
			await c.responses.create({ model, input: [{ role: 'robot', content: 'hi' }] });
		} catch (e) {
			assert(e instanceof OpenAI.BadRequestError && e.param === 'input[0].role', 'error ' + e.constructor.name + ' ' + JSON.stringify(e.error));
			return;
		}
		throw new Error('a bad request was served');
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
