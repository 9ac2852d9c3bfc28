// Convene's own scripts, on top of nhsuk-frontend: start the NHS.UK components.
import { initAll } from "./nhsuk/nhsuk-frontend.min.js";
initAll();

// The co-consulting session runner: a countdown through the process that can be paused. Only the
// runner page has its element. Without JavaScript the steps are a plain list and the timer stays hidden.
// Screen readers hear the step when it changes (the step name is the live region); the ticking clock
// is a role="timer", which is not announced every second.
const timer = document.getElementById("session-timer");
if (timer) {
  const minutes = timer.dataset.steps.split(",").map(Number);
  const items = minutes.map((_, i) => document.getElementById(`step-${i}`));
  const stepLabel = document.getElementById("timer-step");
  const clockLabel = document.getElementById("timer-clock");
  const startButton = document.getElementById("timer-start");
  let index = -1, remaining = 0, ticking = null;
  const show = () => {
    const m = Math.floor(remaining / 60), s = remaining % 60;
    clockLabel.textContent = `${m}:${String(s).padStart(2, "0")}`;
    items.forEach((item, i) => item.classList.toggle("convene-steps__current", i === index));
  };
  const stop = () => { clearInterval(ticking); ticking = null; };
  const go = (next) => {
    index = next;
    if (index >= minutes.length) {
      stop(); stepLabel.textContent = "Finished"; remaining = 0; index = -1; show();
      startButton.textContent = "Start again";
      return;
    }
    remaining = minutes[index] * 60;
    stepLabel.textContent = items[index].dataset.title;
    show();
  };
  const tick = () => { remaining -= 1; if (remaining <= 0) go(index + 1); else show(); };
  startButton.addEventListener("click", () => {
    if (ticking) {  // pause: the clock stops where it is until Resume
      stop();
      startButton.textContent = "Resume";
      return;
    }
    if (index < 0) go(0);
    ticking = setInterval(tick, 1000);
    startButton.textContent = "Pause";
  });
  document.getElementById("timer-next").addEventListener("click", () => go(index + 1));
  timer.hidden = false;
}

// "Copy link" buttons: hidden until JavaScript can copy; without it the link stays selectable text.
document.querySelectorAll("[data-copy-from]").forEach((button) => {
  const source = document.getElementById(button.dataset.copyFrom);
  const status = document.querySelector(`[data-copy-status="${button.dataset.copyFrom}"]`);
  if (!source || !navigator.clipboard) return;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(source.value);
      button.textContent = "Link copied";
      if (status) status.textContent = "The calendar link is copied.";
    } catch {
      source.select();
      if (status) status.textContent = "Select the link and copy it.";
    }
  });
});
