// Convene's own scripts, on top of nhsuk-frontend: start the NHS.UK components.
import { initAll } from "./nhsuk/nhsuk-frontend.min.js";
initAll();
