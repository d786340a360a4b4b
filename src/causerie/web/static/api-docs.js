// Renders /api/v1/openapi.json as a readable list, with no third-party script.
// Everything from the description is inserted as text.

const main = document.getElementById("endpoints");

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function schemaName(schema) {
  if (!schema) return "";
  if (schema.$ref) return schema.$ref.split("/").pop();
  if (schema.type === "array") return `${schemaName(schema.items)}[]`;
  if (schema.anyOf) return schema.anyOf.map(schemaName).join(" | ");
  return schema.type || "";
}

function render(spec) {
  main.replaceChildren();
  for (const [path, methods] of Object.entries(spec.paths)) {
    for (const [method, op] of Object.entries(methods)) {
      const section = el("section", undefined, "endpoint");
      const title = el("h2");
      title.append(el("span", method.toUpperCase(), `method ${method}`), el("code", path));
      section.append(title, el("p", op.summary || ""));
      if (op.parameters?.length) {
        const list = el("ul");
        for (const p of op.parameters) {
          list.append(el("li", `${p.name} (${p.in}${p.required ? ", required" : ""}): `
            + `${schemaName(p.schema)}${p.description ? ` — ${p.description}` : ""}`));
        }
        section.append(el("h3", "Parameters"), list);
      }
      const body = op.requestBody?.content?.["application/json"]?.schema;
      if (body) section.append(el("h3", "Body"), el("p", schemaName(body)));
      const responses = el("ul");
      for (const [status, response] of Object.entries(op.responses || {})) {
        const schema = Object.values(response.content || {})[0]?.schema;
        responses.append(el("li", `${status}: ${schemaName(schema) || response.description || ""}`));
      }
      section.append(el("h3", "Responses"), responses);
      main.append(section);
    }
  }
  const schemas = spec.components?.schemas || {};
  const models = el("section", undefined, "endpoint");
  models.append(el("h2", "Schemas"));
  for (const [name, schema] of Object.entries(schemas)) {
    models.append(el("h3", name));
    const list = el("ul");
    for (const [field, prop] of Object.entries(schema.properties || {})) {
      const required = (schema.required || []).includes(field) ? " (required)" : "";
      list.append(el("li", `${field}: ${schemaName(prop)}${required}`
        + `${prop.description ? ` — ${prop.description}` : ""}`));
    }
    models.append(list);
  }
  main.append(models);
}

fetch("/api/v1/openapi.json")
  .then((response) => response.json())
  .then(render)
  .catch(() => { main.replaceChildren(el("p", "The description could not be loaded.")); });
