/** The provider-neutral traffic model: pure functions every platform renderer shares. */
export * from "./weights";
export * from "./model";
export * from "./capabilities";
