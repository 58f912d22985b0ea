// Body templates and matches, against the libraries they are built on, measured in the same run:
// - a render of @hookline/templater against the same template compiled by plain Handlebars (target >= 0.8x);
// - a @hookline/matcher evaluation against direct json-p3 compiled queries of the same paths (target >= 0.9x).
// Rounds alternate between the rows (A B B A ...) so a noisy neighbour on a shared machine hits both alike.
import Handlebars from 'handlebars';
import { jsonpath } from 'json-p3';
import { compileTemplate } from '@hookline/templater';
import { compileMatcher } from '@hookline/matcher';
import { opsPerSecondSync, report } from './lib/measure.mjs';

/** Median ops/s of each function, measured in alternating single rounds. */
function compare(fns, rounds = 6) {
  const rates = fns.map(() => []);
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? fns.map((_, i) => i) : fns.map((_, i) => fns.length - 1 - i);
    for (const i of order) rates[i].push(opsPerSecondSync(fns[i], { rounds: 1, minMs: 250, warmup: r === 0 ? 2000 : 50 }));
  }
  return rates.map((list) => list.sort((a, b) => a - b)[Math.floor(list.length / 2)]);
}

// Apono's documented access request (../shared/seeds/apono-outbound-webhooks.txt).
const event = {
  event_type: 'AccessRequestCreated',
  event_time: 1696263265.851898,
  data: {
    id: '123',
    friendly_id: 'AR-123',
    requester: { id: 'user-1', name: 'User', email: 'user@example.com' },
    justification: 'I need access to this',
    creation_date: 1696263265.852378,
    access_groups: [
      {
        integration: { id: 'integration-1', type: 'Postgresql', name: 'prod db' },
        access_units: [
          { resource: { id: 'res-1', name: 'DB 1' }, permission: { id: 'ReadOnly', name: 'ReadOnly' } },
          { resource: { id: 'res-2', name: 'DB 2' }, permission: { id: 'ReadOnly', name: 'ReadOnly' } },
        ],
      },
    ],
    approvals_logical_relation: 'AllOf',
  },
};

// Apono's own examples, inside strings: JSON by construction, so no per-render check is needed.
const flatSource = `{
  "summary": "{{data.friendly_id}}: {{data.requester.name}} <{{data.requester.email}}> requests access",
  "justification": "{{data.justification}}",
  "status": "{{event_type}}",
  "integrations": "{{#each data.access_groups}}{{integration.name}} {{/each}}",
  "units": "{{#each data.access_groups}}{{#each access_units}}{{resource.name}}, {{/each}}{{/each}}"
}`;
// Loops that build JSON structure with @last separators: proved JSON when compiling.
const loopSource = `{
  "id": "{{data.id}}",
  "groups": [{{#each data.access_groups}}{"integration": "{{integration.name}}", "units": [{{#each access_units}}{"name": "{{resource.name}}", "permission": "{{permission.name}}"}{{#unless @last}},{{/unless}}{{/each}}]}{{#unless @last}},{{/unless}}{{/each}}]
}`;
// The same units flattened across groups: an empty group would leave a stray comma, so every render is checked.
const checkedSource = `{
  "id": "{{data.id}}",
  "units": [{{#each data.access_groups}}{{#each access_units}}{"name": "{{resource.name}}", "permission": "{{permission.name}}"}{{#unless @last}},{{/unless}}{{/each}}{{#unless @last}},{{/unless}}{{/each}}]
}`;

for (const [title, source] of [
  ['template render, strings only (Apono examples)', flatSource],
  ['template render, loops building JSON arrays', loopSource],
  ['template render, loops building a JSON array', checkedSource],
]) {
  const plain = Handlebars.create().compile(source);
  const template = compileTemplate(source);
  if (JSON.stringify(JSON.parse(template.renderText(event))) !== JSON.stringify(JSON.parse(plain(event)))) {
    throw new Error(`${title}: outputs differ`);
  }
  const [handlebars, renderText, render] = compare([
    () => plain(event),
    () => template.renderText(event),
    () => template.render(event),
  ]);
  report(
    `${title} (${template.alwaysJson ? 'JSON by construction' : 'checked per render'})`,
    [
      { name: 'plain Handlebars (HTML-escaped, unchecked)', value: handlebars },
      { name: '@hookline/templater renderText', value: renderText },
      { name: '@hookline/templater render (+ parsed value)', value: render },
    ],
    {
      unit: 'renders/s',
      targets: {
        '@hookline/templater renderText': { against: 'plain Handlebars (HTML-escaped, unchecked)', atLeast: 0.8 },
      },
    },
  );
}

const slack = {
  token: 'x',
  team_id: 'T1',
  event: { type: 'message', text: 'hello', channel: 'C1', user: 'U1', blocks: [{ type: 'rich_text' }, { type: 'divider' }] },
  authorizations: [{ team_id: 'T1', is_bot: false }, { team_id: 'T2', is_bot: true }],
};

for (const [title, matches] of [
  ['matches, singular paths (Conductor example)', { "$['event']['type']": 'message', '$.event.text': 'hello', '$.team_id': 'T1' }],
  ['matches, wildcard and filter paths', { '$.authorizations[*].team_id': 'T2', "$.event.blocks[?@.type == 'divider'].type": 'divider' }],
]) {
  const matcher = compileMatcher(matches);
  const direct = Object.entries(matches).map(([path, expected]) => [jsonpath.compile(path), expected]);
  const directTest = (value) => direct.every(([query, expected]) => query.query(value).nodes.some((node) => node.value === expected));
  if (matcher.test(slack) !== true || directTest(slack) !== true) throw new Error(`${title}: expected a match`);
  const [p3, ours] = compare([() => directTest(slack), () => matcher.test(slack)]);
  report(
    title,
    [
      { name: 'json-p3 compiled queries', value: p3 },
      { name: '@hookline/matcher test', value: ours },
    ],
    { unit: 'evals/s', targets: { '@hookline/matcher test': { against: 'json-p3 compiled queries', atLeast: 0.9 } } },
  );
}
