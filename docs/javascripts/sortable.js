// Sort a table.actlab-sortable by clicking a header: numbers by the cell's data-sort value, text alphabetically;
// cells without a number stay at the bottom in both directions.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("table.actlab-sortable").forEach((table) => {
    const headers = Array.from(table.querySelectorAll("thead th"));
    headers.forEach((th, column) => {
      th.setAttribute("role", "button");
      th.tabIndex = 0;
      const sort = () => {
        const ascending = th.getAttribute("aria-sort") !== "ascending";
        headers.forEach((h) => h.removeAttribute("aria-sort"));
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        const numeric = th.dataset.type === "number";
        const key = (row) => {
          const cell = row.children[column];
          const raw = cell.dataset.sort !== undefined ? cell.dataset.sort : cell.textContent.trim();
          if (!numeric) return raw.toLowerCase();
          const value = parseFloat(raw);
          return Number.isNaN(value) ? null : value;  // no value (not applicable): last either way
        };
        const body = table.tBodies[0];
        const rows = Array.from(body.rows);
        rows.sort((a, b) => {
          const x = key(a), y = key(b);
          if (x === null || y === null) return (x === null) - (y === null);
          const order = x < y ? -1 : x > y ? 1 : 0;
          return ascending ? order : -order;
        });
        rows.forEach((row) => body.appendChild(row));
      };
      th.addEventListener("click", sort);
      th.addEventListener("keydown", (event) => { if (event.key === "Enter") sort(); });
    });
  });
});
