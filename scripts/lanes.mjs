// `inLanes(items, fn)`: fn on every item, as many at once as there are cores, each lane taking the next item
// when its last one ends. The scripts' jobs are single-threaded processes of several seconds each.
import { availableParallelism } from "node:os";

export async function inLanes(items, fn, lanes = availableParallelism()) {
  const queue = [...items];
  const lane = async () => {
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) await fn(item);
  };
  await Promise.all(Array.from({ length: Math.min(lanes, queue.length) }, lane));
}
