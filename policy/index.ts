/**
 * pgha's policy pack: what must never ship, checked in every preview and update.
 *
 *   pulumi preview --stack <name> --diff --policy-pack policy
 *
 * (Install its dependencies first: `npm ci --prefix policy`.) Mandatory policies fail the
 * operation; advisory ones print a warning. See policies.ts for the list.
 */
import { PolicyPack } from "@pulumi/policy";
import { policies } from "./policies";

new PolicyPack("pgha", { enforcementLevel: "mandatory", policies });
