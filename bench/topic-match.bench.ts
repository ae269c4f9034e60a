/**
 * Topic matching micro-benchmark: the subscription trie's cached match() against its plain
 * walk(), on one index of 10,000 device command filters plus two wildcard consumers.
 * CPU time per lookup (process.cpuUsage, so other load on the machine matters less than with
 * wall time), best of the rounds.
 * Run: npx tsc -p . && node dist/bench/topic-match.bench.js [--lookups 2000000] [--rounds 5]
 */
import { SubscriptionTrie, type MatchVisitor } from '../src/topic/trie.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}
const LOOKUPS = arg('--lookups', 2_000_000);
const ROUNDS = arg('--rounds', 5);

const trie = new SubscriptionTrie<number, number>();
for (let i = 0; i < 10_000; i++) trie.add(`devices/d${i}/cmd`, i, 0);
trie.add('devices/+/telemetry', -1, 1);
trie.add('devices/#', -2, 0);
trie.add('bench/topic', -3, 0);

let visited = 0;
const visitor: MatchVisitor<number, number> = {
  subscriber: () => visited++,
  sharedGroup: () => visited++,
};

const cases: Array<[string, string[]]> = [
  ['1 topic (the e2e scenarios)', ['bench/topic']],
  ['1,000 topics cycling (fit the cache)', Array.from({ length: 1000 }, (_, i) => `devices/d${i}/telemetry`)],
  ['20,000 topics cycling (5× the cache)', Array.from({ length: 20_000 }, (_, i) => `devices/d${i}/telemetry`)],
];

function nsPerLookup(topics: string[], cached: boolean): number {
  const start = process.cpuUsage();
  const n = topics.length;
  if (cached) for (let i = 0; i < LOOKUPS; i++) trie.match(topics[i % n]!, visitor);
  else for (let i = 0; i < LOOKUPS; i++) trie.walk(topics[i % n]!, visitor);
  const used = process.cpuUsage(start);
  return ((used.user + used.system) * 1000) / LOOKUPS;
}

console.log('| case | walk ns/lookup | cached ns/lookup | cached/walk |');
console.log('|---|---:|---:|---:|');
for (const [name, topics] of cases) {
  let walk = Infinity;
  let cached = Infinity;
  for (let r = 0; r < ROUNDS; r++) {
    walk = Math.min(walk, nsPerLookup(topics, false));
    cached = Math.min(cached, nsPerLookup(topics, true));
  }
  console.log(`| ${name} | ${walk.toFixed(0)} | ${cached.toFixed(0)} | ${(cached / walk).toFixed(2)}× |`);
}
if (visited === 0) console.log('(nothing matched)');
