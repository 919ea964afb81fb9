import { runWave } from "../../../automation/wave/run";
import { MemoryWaveStore } from "../../../automation/wave/store";
import { accesses, FakeStack, Life, MortalWaveStore, waveOf, YieldingClock } from "../../helpers/waveFakes";
const w = waveOf({ name: "checkout", version: "v2", image: "app:v2", target: "haproxy", bake: "20s", onFailure: "rollbackAll", stages: [ { name: "first", stacks: [{ name: "east", sandbox: "east.json" }] }, { name: "second", stacks: [{ name: "west", sandbox: "west.json" }, { name: "north", sandbox: "north.json" }] } ] });
it("dbg", async () => {
  for (const life of [new Life(), new Life({op: 67, when: "during"})]) {
    const stacks = [new FakeStack("east"), new FakeStack("west", [["continue", "rollback"]]), new FakeStack("north", [["continue"]])];
    try { const r = await runWave({ wave: w, store: new MortalWaveStore(new MemoryWaveStore(), life), stacks: accesses(w, stacks, life), clock: new YieldingClock(), id: "w1" , report: e => { if (e.kind==="log") console.log(e.line) }}); console.log("result", r.outcome); } catch (e) { console.log("error", (e as Error).message); }
    console.log(life.ops, life.names.map((n,i)=>`${i+1}:${n}`).slice(55, 90).join(" | "));
  }
});
