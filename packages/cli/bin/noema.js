#!/usr/bin/env node
// The `noema` command. Committed, not built: npm links a package's bins when it installs the
// workspace, before `prepare` builds dist/, and skips a link whose target does not exist yet.
import "../dist/main.js";
