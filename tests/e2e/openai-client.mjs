// The official openai npm client against `swarm serve`: a completion, a
// stream and an error, each checked. Prints PASS/FAIL lines.
// usage: node openai-client.mjs BASE_URL API_KEY MODEL
import OpenAI from "openai";

const [base, key, model] = process.argv.slice(2);
const client = new OpenAI({ baseURL: base, apiKey: key, maxRetries: 0 });
let failed = 0;
const check = (name, ok, info) => {
	console.log(`${ok ? "PASS" : "FAIL"} ${name}`);
	if (!ok) {
		failed = 1;
		console.error(`  ${name}:`, JSON.stringify(info));
	}
};
const messages = [{ role: "user", content: "Once upon a time" }];

const models = await client.models.list();
check("openai-models", models.data.some((m) => m.id === model), models.data);

const r = await client.chat.completions.create({ model, messages,
    temperature: 0, max_tokens: 20 });
const text = r.choices[0].message.content;
check("openai-completion", typeof text === "string" && text.length > 0 &&
    r.usage.completion_tokens > 0, r);

const stream = await client.chat.completions.create({ model, messages,
    temperature: 0, max_tokens: 20, stream: true,
    stream_options: { include_usage: true } });
let streamed = "", finish = null, usage = null;
for await (const chunk of stream) {
	if (chunk.usage)
		usage = chunk.usage;
	for (const c of chunk.choices) {
		streamed += c.delta?.content ?? "";
		if (c.finish_reason)
			finish = c.finish_reason;
	}
}
check("openai-stream", streamed === text && finish !== null &&
    usage?.completion_tokens === r.usage.completion_tokens,
    { streamed, text, finish, usage });

try {
	await client.chat.completions.create({ model: "no-such-model", messages });
	check("openai-error", false, "no error");
} catch (e) {
	check("openai-error", e instanceof OpenAI.NotFoundError &&
	    e.status === 404 && e.code === "model_not_found", String(e));
}
try {
	await new OpenAI({ baseURL: base, apiKey: "wrong", maxRetries: 0 })
	    .chat.completions.create({ model, messages });
	check("openai-auth-error", false, "no error");
} catch (e) {
	check("openai-auth-error", e instanceof OpenAI.AuthenticationError, String(e));
}
const long = "Once upon a time ".repeat(2000);
try {
	await client.chat.completions.create({ model, messages: [{ role: "user",
	    content: long }] });
	check("openai-context-error", false, "no error");
} catch (e) {
	check("openai-context-error", e instanceof OpenAI.BadRequestError &&
	    e.code === "context_length_exceeded" &&
	    /^This model's maximum context length is \d+ tokens\. However, your messages resulted in \d+ tokens\.$/.test(e.error?.message),
	    String(e));
}
process.exit(failed);
