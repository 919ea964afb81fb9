/** Entry point for `pulumi up`: the module's exports become the stack outputs. */
import { program } from "./program";

export = program();
