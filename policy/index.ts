/**
 * The pulumi-canary policy pack: run it with `pulumi preview --policy-pack <path to this folder>`
 * (or `pulumi up`) on any stack that uses the canary components. See docs/policy.md.
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("pulumi-canary", { policies });
