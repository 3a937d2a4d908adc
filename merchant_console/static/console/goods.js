/* The product editor: spec dimensions and the SKU grid, the rich description, and the
   gallery's drag-to-reorder. The grid is regenerated from the dimensions on every change;
   what staff typed is kept per combination (the values' texts), so a combination that
   still exists keeps its price, stock and commission, and one that comes back gets them
   back. On submit the whole state goes to the server as JSON in the `matrix` field. */
(function () {
  "use strict";
  const form = document.getElementById("product-editor");
  if (!form) return;
  const labels = JSON.parse(document.getElementById("editor-labels").textContent);
  const initial = JSON.parse(document.getElementById("editor-state").textContent);
  const dimsBox = document.getElementById("spec-dimensions");
  const gridBody = document.querySelector("#sku-grid tbody");
  const basePrice = document.getElementById("base-price");
  const typed = new Map(); // combination key -> {price, market_price, stock, commission_*}
  const FIELDS = ["price", "market_price", "stock", "commission_mode", "commission_fixed",
                  "commission_rates", "is_active"];

  const keyOf = (values) => JSON.stringify(values);
  const splitValues = (text) => {
    const seen = new Set();
    return text.split(/[,，、;；]/).map((v) => v.trim()).filter((v) => {
      if (!v || seen.has(v)) return false;
      seen.add(v);
      return true;
    });
  };

  function dimensions() {
    return Array.from(dimsBox.querySelectorAll(".dimension")).map((row) => ({
      name: row.querySelector(".dim-name").value.trim(),
      values: splitValues(row.querySelector(".dim-values").value),
    })).filter((dim) => dim.name || dim.values.length);
  }

  function combinations(dims) {
    let combos = [[]];
    for (const dim of dims) {
      if (!dim.values.length) continue;
      const next = [];
      for (const combo of combos) for (const value of dim.values) next.push([...combo, value]);
      combos = next;
    }
    return combos;
  }

  function input(name, value, attrs) {
    const el = document.createElement("input");
    el.name = "sku-" + name;
    el.dataset.field = name;
    el.value = value == null ? "" : value;
    Object.assign(el, attrs || {});
    return el;
  }

  function commissionSelect(value) {
    const select = document.createElement("select");
    select.dataset.field = "commission_mode";
    for (const [mode, label] of labels.modes) {
      const option = new Option(label, mode, false, mode === value);
      select.add(option);
    }
    return select;
  }

  function syncDisabled(row) {
    const mode = row.querySelector("[data-field=commission_mode]").value;
    row.querySelector("[data-field=commission_fixed]").disabled = mode !== "fixed";
    row.querySelector("[data-field=commission_rates]").disabled = mode !== "rates";
  }

  function renderGrid() {
    const dims = dimensions();
    const combos = combinations(dims.filter((dim) => dim.name));
    gridBody.replaceChildren();
    for (const values of combos) {
      const key = keyOf(values);
      const saved = typed.get(key) || {
        price: basePrice.value, market_price: "", stock: "0", commission_mode: "inherit",
        commission_fixed: "", commission_rates: "", is_active: true,
      };
      typed.set(key, saved);
      const row = document.createElement("tr");
      row.dataset.key = key;
      const label = document.createElement("td");
      label.textContent = values.length ? values.join(" / ") : labels.single;
      row.append(label);
      const cells = [
        input("price", saved.price, {inputMode: "decimal", required: true}),
        input("market_price", saved.market_price, {inputMode: "decimal"}),
        input("stock", saved.stock, {inputMode: "numeric", required: true}),
        commissionSelect(saved.commission_mode),
        input("commission_fixed", saved.commission_fixed, {inputMode: "decimal"}),
        input("commission_rates", saved.commission_rates, {placeholder: "10, 5"}),
        input("is_active", "", {type: "checkbox", checked: saved.is_active !== false,
                                title: labels.on_sale}),
      ];
      for (const cell of cells) {
        const td = document.createElement("td");
        td.append(cell);
        row.append(td);
      }
      const remember = (event) => {
        const field = event.target.dataset.field;
        if (!field) return;
        saved[field] = event.target.type === "checkbox" ? event.target.checked
                                                        : event.target.value;
        if (field === "commission_mode") syncDisabled(row);
      };
      row.addEventListener("input", remember);
      row.addEventListener("change", remember);
      syncDisabled(row);
      gridBody.append(row);
    }
  }

  function addDimension(dim) {
    const row = document.createElement("div");
    row.className = "dimension";
    const name = document.createElement("input");
    name.className = "dim-name";
    name.placeholder = labels.dimension;
    name.setAttribute("aria-label", labels.dimension);
    name.maxLength = 20;
    name.value = dim ? dim.name : "";
    const values = document.createElement("input");
    values.className = "dim-values";
    values.placeholder = labels.values;
    values.setAttribute("aria-label", labels.values);
    values.value = dim ? dim.values.join(", ") : "";
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "small secondary";
    remove.textContent = labels.remove;
    remove.addEventListener("click", () => { row.remove(); renderGrid(); });
    row.append(name, values, remove);
    dimsBox.append(row);
    row.addEventListener("input", renderGrid);
    return row;
  }

  for (const sku of initial.skus || []) {
    const saved = {};
    for (const field of FIELDS) {
      saved[field] = field === "is_active" ? sku[field] !== false
                                           : (sku[field] == null ? "" : String(sku[field]));
    }
    if (typed.has(keyOf(sku.values))) continue; // an active SKU is listed first
    typed.set(keyOf(sku.values), saved);
  }
  for (const dim of initial.dimensions || []) addDimension(dim);
  renderGrid();

  document.getElementById("add-dimension").addEventListener("click", () => {
    addDimension(null).querySelector(".dim-name").focus();
    renderGrid();
  });

  // Rich description: a contenteditable box whose HTML is posted (the server sanitises it).
  const editor = document.getElementById("description-editor");
  for (const button of document.querySelectorAll(".rich-toolbar [data-command]")) {
    button.addEventListener("click", () => {
      editor.focus();
      document.execCommand(button.dataset.command, false, button.dataset.value || null);
    });
  }

  form.addEventListener("submit", () => {
    const dims = dimensions();
    const skus = Array.from(gridBody.querySelectorAll("tr")).map((row) => {
      const saved = typed.get(row.dataset.key);
      return Object.assign({values: JSON.parse(row.dataset.key)}, saved);
    });
    document.getElementById("matrix-field").value = JSON.stringify({dimensions: dims, skus});
    document.getElementById("description-field").value = editor.innerHTML;
  });

  // The gallery: drag to reorder; after a drop the list's form fires "reorder", which htmx
  // posts (hx-trigger="reorder") and swaps in the new gallery.
  function sortable() {
    const list = document.getElementById("gallery-list");
    if (list && window.Sortable && !list.dataset.sortable) {
      list.dataset.sortable = "1";
      new window.Sortable(list, {
        animation: 150, draggable: ".thumb",
        onEnd: () => list.closest("form").dispatchEvent(new Event("reorder")),
      });
    }
  }
  sortable();
  document.body.addEventListener("htmx:afterSwap", sortable);
})();
