// The relationship page's contract forms: propose a contract, record its signature, terminate it (mounted by
// relationship_forms.js). A contract is chosen by its title, value and term, among those in the status the
// command needs.

import { setChoices } from "./form_helpers.js";
import { localToday } from "./forms.js";
import { dateText, money } from "./ui.js";

/** The three contract forms, added to `panel`; `refresh()` after every read. */
export function contractForms({ add, state }) {
  const contractsIn = (status) =>
    Object.entries(state.relationship.contracts || {})
      .filter(([, contract]) => contract.status === status)
      .map(([contractId, c]) => [contractId, `${c.title} (${money(c.value)}, ${dateText(c.starts_on)} to ${dateText(c.ends_on)})`]);

  add("contract", "Propose a contract", {
    submitLabel: "Propose contract",
    fields: [
      { name: "title", label: "Title", required: true },
      { name: "value", label: "Value (USD)", kind: "money", required: true, placeholder: "25000.00" },
      { name: "starts_on", label: "Starts on", kind: "date", required: true },
      { name: "ends_on", label: "Ends on", kind: "date", required: true },
    ],
    path: "/contracts",
    doneText: (answer, v) => `${v.title} proposed at ${money(v.value)} (version ${answer.version}).`,
  });

  /** A command on one contract in `status`: the contract chosen, and `fields` sent as the body. */
  const onContract = (key, label, status, step, fields, spec) =>
    add(
      key,
      label,
      {
        ...spec,
        fields: [{ name: "contract", label: "Contract", kind: "select", choices: [], required: true }, ...fields],
        path: (v) => `/contracts/${v.contract}/${step}`,
        body: ({ contract, ...rest }) => rest,
      },
      { available: () => contractsIn(status).length > 0 },
    );

  const signForm = onContract("sign", "Sign a contract", "proposed", "signature", [{ name: "signed_on", label: "Signed on", kind: "date", value: localToday(), required: true }], {
    submitLabel: "Record signature",
    doneText: (answer, v) => `Signed on ${dateText(v.signed_on)} (version ${answer.version}).`,
  });

  const terminateForm = onContract(
    "terminate",
    "Terminate a contract",
    "signed",
    "termination",
    [
      { name: "on", label: "Terminated on", kind: "date", value: localToday(), required: true },
      { name: "reason", label: "Reason", required: true },
    ],
    {
      submitLabel: "Terminate contract",
      doneText: (answer, v) => `Terminated on ${dateText(v.on)} (version ${answer.version}).`,
    },
  );

  return {
    refresh() {
      setChoices(signForm, "contract", contractsIn("proposed"));
      setChoices(terminateForm, "contract", contractsIn("signed"));
    },
  };
}
