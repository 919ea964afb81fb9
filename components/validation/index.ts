/** Validation shared by the components and the stack config: problems, their one format, and the primitive rules. */
export * from "./problems";
export * from "./primitives";
export * from "./checks";
