/** The staging stack on an existing cluster (plinth:cloud overridden; kubeconfig is a secret). */
import { describeExistingCloud } from "../support/existing-suite.js";
import { describeCommonInvariants, renderOnce } from "../support/stack-suite.js";

const holder = renderOnce("staging", "existing");
describeCommonInvariants("staging", "existing", holder);
describeExistingCloud("staging", holder, { protect: false });
