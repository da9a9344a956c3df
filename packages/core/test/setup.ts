import "../src/sql.js";
