/* flowsheet: the search_runs filter grammar, in the browser.
 *
 * A line-for-line twin of logger/filter.py (read its docstring for the grammar and the meaning of
 * every operator); both are tested against tests/fixtures/filter_cases.json and give the same
 * error messages, with positions counted in characters (code points) from 1.
 *
 *   FlowsheetFilter.parse(text)           -> {text, matches(row)}; throws Error naming the position
 *   FlowsheetFilter.sortRows(rows, items) -> a new sorted array (missing last, NaN just before;
 *                                            ties by start_time DESC, then run_id); items are
 *                                            order_by strings or {entity, key, ascending}; throws Error
 *   FlowsheetFilter.sortRows(rows, items, true) -> the same for rows already in the default order, faster
 *   FlowsheetFilter.paramText(value)      -> the text params and tags compare by
 *   FlowsheetFilter.formatNumber(x)       -> a number as every table shows it (format_number in Python)
 *   FlowsheetFilter.reviveRow(row)        -> the same row, its metric strings "NaN", "Infinity",
 *                                            "-Infinity" turned into numbers in place (JSON has no NaN)
 *   FlowsheetFilter.naturalCompare(a, b)  -> how keys are listed: m2 before m10 (logger/values.py natural_key)
 *
 * Plain ES2019, no dependencies: <script src="filter.js"> defines window.FlowsheetFilter, and
 * require("./filter.js") returns the same object in Node.
 */
(function (root, factory) {
  "use strict";
  var api = factory();
  if (typeof module === "object" && module.exports) module.exports = api;
  if (root) root.FlowsheetFilter = api;
})(typeof window !== "undefined" ? window : typeof self !== "undefined" ? self : null, function () {
  "use strict";

  var ENTITIES = {
    metrics: "metrics", metric: "metrics",
    params: "params", param: "params", parameters: "params", parameter: "params",
    tags: "tags", tag: "tags",
    attributes: "attributes", attribute: "attributes", attr: "attributes", run: "attributes",
  };
  var STRING_ATTRIBUTES = ["run_id", "run_name", "status", "experiment_id", "user", "artifact_uri", "parent_run_id"];
  var NUMBER_ATTRIBUTES = ["start_time", "end_time"];
  var ATTRIBUTES = Object.create(null);
  STRING_ATTRIBUTES.concat(NUMBER_ATTRIBUTES).forEach(function (name) { ATTRIBUTES[name] = name; });
  ATTRIBUTES.user_id = "user";
  ATTRIBUTES.created = "start_time";
  var ATTRIBUTE_LIST = STRING_ATTRIBUTES.concat(NUMBER_ATTRIBUTES).join(", ");

  var NUMBER_OPS = ["=", "!=", "<", "<=", ">", ">=", "IN", "NOT IN"];
  var TEXT_OPS = ["=", "!=", "LIKE", "ILIKE", "IN", "NOT IN"];
  var PARAM_OPS = NUMBER_OPS.concat(["LIKE", "ILIKE"]);
  var MAX_DEPTH = 100;
  var EMPTY = Object.freeze({});
  var hasOwn = Object.prototype.hasOwnProperty;

  // ------------------------------------------------------------ values as text and numbers

  var NUMERIC_TEXT = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/;

  // Python's repr() of a float, from the shortest round-trip digits that toExponential() gives.
  function floatRepr(x) {
    if (x !== x) return "nan";
    if (x === Infinity) return "inf";
    if (x === -Infinity) return "-inf";
    if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
    var m = /^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$/.exec(x.toExponential());
    var sign = m[1], digits = m[2] + (m[3] || ""), exp = parseInt(m[4], 10);
    if (exp < -4 || exp >= 16) {
      var e = Math.abs(exp);
      return sign + digits[0] + (digits.length > 1 ? "." + digits.slice(1) : "") +
        "e" + (exp < 0 ? "-" : "+") + (e < 10 ? "0" + e : String(e));
    }
    if (exp < 0) return sign + "0." + "0".repeat(-exp - 1) + digits;
    if (digits.length <= exp + 1) return sign + digits + "0".repeat(exp + 1 - digits.length) + ".0";
    return sign + digits.slice(0, exp + 1) + "." + digits.slice(exp + 1);
  }

  // JSON cannot tell 1.0 from 1: an integral number prints as an int (below 1e16, where Python's
  // float repr would switch to exponent form anyway).
  function numberText(x) {
    if (Number.isInteger(x) && Math.abs(x) < 1e16) return String(x);
    return floatRepr(x);
  }

  // A number as every table shows it: the rule of logger/filter.py format_number (read its docstring).
  function formatNumber(x) {
    if (x !== x) return "NaN";
    if (x === Infinity || x === -Infinity) return x > 0 ? "Infinity" : "-Infinity";
    return numberText(x);
  }

  function jsonText(value) {
    if (value === null || value === undefined) return "null";
    if (typeof value === "boolean") return value ? "true" : "false";
    if (typeof value === "number") return numberText(value);
    if (typeof value === "string") return JSON.stringify(value);
    if (Array.isArray(value)) return "[" + value.map(jsonText).join(", ") + "]";
    if (typeof value === "object") {
      return "{" + Object.keys(value).map(function (k) {
        return JSON.stringify(k) + ": " + jsonText(value[k]);
      }).join(", ") + "}";
    }
    return JSON.stringify(String(value));
  }

  function paramText(value) {
    if (typeof value === "string") return value;
    if (value === null || value === undefined) return "None";
    if (typeof value === "boolean") return value ? "True" : "False";
    if (typeof value === "number") return numberText(value);
    if (typeof value === "object") return jsonText(value);
    return String(value);
  }

  function paramNumber(value) {
    if (typeof value === "number") return value;
    if (typeof value === "string" && NUMERIC_TEXT.test(value)) return Number(value);
    return null;
  }

  // ------------------------------------------------------------ tokens

  var SPACE = /[ \t\r\n\f\v]+/y;
  var NUMBER = /[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?/y;
  var IDENT = /[A-Za-z_][A-Za-z0-9_.\-/]*/y;
  var OP = /<=|>=|!=|=|<|>/y;

  function ValueError(message) {
    var error = new Error(message);
    error.name = "ValueError";
    return error;
  }

  function found(token) {
    if (token.kind === "end") return "end of input";
    return token.kind === "string" ? token.raw : "'" + token.raw + "'";
  }

  function tokenize(text, what) {
    // Positions count code points, as Python does, so messages agree on astral characters.
    var astral = /[\uD800-\uDFFF]/.test(text);
    function position(index) { return astral ? Array.from(text.slice(0, index)).length + 1 : index + 1; }
    var tokens = [], i = 0, n = text.length, match;
    function sticky(re) { re.lastIndex = i; return re.exec(text); }
    while (i < n) {
      if ((match = sticky(SPACE))) { i = SPACE.lastIndex; continue; }
      var ch = text[i];
      if (ch === "'" || ch === '"' || ch === "`") {
        var j = i + 1, parts = [];
        while (j < n && text[j] !== ch) {
          if (text[j] === "\\" && j + 1 < n && (text[j + 1] === ch || text[j + 1] === "\\")) j += 1;
          parts.push(text[j]);
          j += 1;
        }
        if (j >= n) {
          throw ValueError(what + ": expected a closing " + ch + " for the string at position " + position(i) + ", found end of input");
        }
        tokens.push({ kind: "string", value: parts.join(""), pos: position(i), raw: text.slice(i, j + 1), quote: ch });
        i = j + 1;
        continue;
      }
      var kinds = [["number", NUMBER], ["ident", IDENT], ["op", OP]], matched = false;
      for (var k = 0; k < kinds.length && !matched; k++) {
        if ((match = sticky(kinds[k][1]))) {
          var raw = match[0];
          tokens.push({ kind: kinds[k][0], value: kinds[k][0] === "number" ? Number(raw) : raw, pos: position(i), raw: raw, quote: "" });
          i += raw.length;
          matched = true;
        }
      }
      if (matched) continue;
      if ("(),".indexOf(ch) < 0) {
        var cp = String.fromCodePoint(text.codePointAt(i));
        throw ValueError(what + ": expected a field, operator or value at position " + position(i) + ", found '" + cp + "'");
      }
      tokens.push({ kind: ch, value: ch, pos: position(i), raw: ch, quote: "" });
      i += 1;
    }
    tokens.push({ kind: "end", value: null, pos: position(n), raw: "", quote: "" });
    return tokens;
  }

  // ------------------------------------------------------------ parser

  function Parser(text, what) {
    this.what = what;
    this.tokens = tokenize(text, what);
    this.i = 0;
  }

  Parser.prototype.peek = function () { return this.tokens[this.i]; };
  Parser.prototype.take = function () { return this.tokens[this.i++]; };
  Parser.prototype.fail = function (expected, token, note) {
    return ValueError(this.what + ": expected " + expected + " at position " + token.pos + ", found " + found(token) + (note ? " (" + note + ")" : ""));
  };
  Parser.prototype.isWord = function (token) {
    if (token.kind !== "ident") return false;
    var upper = token.value.toUpperCase();
    for (var k = 1; k < arguments.length; k++) if (arguments[k] === upper) return true;
    return false;
  };

  Parser.prototype.field = function () {
    var token = this.take();
    if (token.kind !== "ident") {
      throw this.fail("a field such as metrics.<key>, params.<key>, tags.<key> or an attribute", token);
    }
    var name = token.value, dot = name.indexOf(".");
    if (dot < 0) {
      var attribute = ATTRIBUTES[name.toLowerCase()];
      if (attribute === undefined) {
        throw this.fail("metrics.<key>, params.<key>, tags.<key> or an attribute (" + ATTRIBUTE_LIST + ")", token);
      }
      return ["attributes", attribute];
    }
    var prefix = name.slice(0, dot), key = name.slice(dot + 1);
    var entity = hasOwn.call(ENTITIES, prefix.toLowerCase()) ? ENTITIES[prefix.toLowerCase()] : undefined;
    if (entity === undefined) throw this.fail("an entity (metrics, params, tags, attributes)", token);
    if (!key) {
      var quoted = this.peek();
      if (quoted.kind !== "string" || !quoted.value) throw this.fail("a key after '" + prefix + ".'", quoted);
      key = this.take().value;
    }
    if (entity === "attributes") {
      var attr = ATTRIBUTES[key.toLowerCase()];
      if (attr === undefined) throw this.fail("an attribute (" + ATTRIBUTE_LIST + ")", token);
      return [entity, attr];
    }
    return [entity, key];
  };

  Parser.prototype.operator = function () {
    var token = this.take();
    if (token.kind === "op") return [token.value, token];
    if (this.isWord(token, "LIKE", "ILIKE", "IN")) return [token.value.toUpperCase(), token];
    if (this.isWord(token, "NOT")) {
      if (!this.isWord(this.peek(), "IN")) throw this.fail("IN after NOT", this.peek());
      this.take();
      return ["NOT IN", token];
    }
    throw this.fail("a comparison operator (=, !=, <, <=, >, >=, LIKE, ILIKE, IN, NOT IN)", token);
  };

  Parser.prototype.value = function () {
    var token = this.take();
    if (token.kind === "number" || (token.kind === "string" && token.quote !== "`")) return token;
    throw this.fail("a value (a number or a quoted string)", token);
  };

  Parser.prototype.values = function () {
    if (this.peek().kind !== "(") throw this.fail("'(' to open the IN list", this.peek());
    this.take();
    var items = [this.value()];
    while (this.peek().kind === ",") {
      this.take();
      items.push(this.value());
    }
    if (this.peek().kind !== ")") throw this.fail("',' or ')' in the IN list", this.peek());
    this.take();
    return items;
  };

  Parser.prototype.comparison = function () {
    var field = this.field(), entity = field[0], key = field[1];
    var opPair = this.operator(), op = opPair[0], opToken = opPair[1];
    var label = entity === "attributes" ? key : entity + "." + key;
    var allowed;
    if (entity === "metrics" || (entity === "attributes" && NUMBER_ATTRIBUTES.indexOf(key) >= 0)) allowed = NUMBER_OPS;
    else if (entity === "params") allowed = PARAM_OPS;
    else allowed = TEXT_OPS;
    if (allowed.indexOf(op) < 0) throw this.fail("one of " + allowed.join(", ") + " for " + label, opToken);
    var values = op === "IN" || op === "NOT IN" ? this.values() : [this.value()];
    var numeric;
    if (entity === "params") {
      // Text comparison by default, numeric against a bare number (an extension over MLflow).
      numeric = op === "<" || op === "<=" || op === ">" || op === ">=" ||
        (op !== "LIKE" && op !== "ILIKE" && values[0].kind === "number");
    } else {
      numeric = allowed === NUMBER_OPS;
    }
    var kind = numeric ? "a number" : "a quoted string";
    for (var k = 0; k < values.length; k++) {
      if ((values[k].kind === "number") !== numeric) throw this.fail(kind + " after '" + label + " " + op + "'", values[k]);
    }
    return compile(entity, key, op, values.map(function (t) { return t.value; }), numeric);
  };

  Parser.prototype.primary = function (depth) {
    var token = this.peek();
    if (token.kind !== "(") return this.comparison();
    if (depth >= MAX_DEPTH) throw this.fail("at most " + MAX_DEPTH + " nested parentheses", token);
    this.take();
    var inner = this.orExpr(depth + 1);
    if (this.peek().kind !== ")") throw this.fail("')'", this.peek(), "unbalanced '(' at position " + token.pos);
    this.take();
    return inner;
  };

  Parser.prototype.andExpr = function (depth) {
    var parts = [this.primary(depth)];
    while (this.isWord(this.peek(), "AND")) {
      this.take();
      parts.push(this.primary(depth));
    }
    return every(parts);
  };

  Parser.prototype.orExpr = function (depth) {
    var parts = [this.andExpr(depth || 0)];
    while (this.isWord(this.peek(), "OR")) {
      this.take();
      parts.push(this.andExpr(depth || 0));
    }
    return some(parts);
  };

  Parser.prototype.expectEnd = function (expected) {
    if (this.peek().kind !== "end") throw this.fail(expected, this.peek());
  };

  // ------------------------------------------------------------ evaluation: closures built once

  function every(parts) {
    if (parts.length === 1) return parts[0];
    return function (row) {
      for (var k = 0; k < parts.length; k++) if (!parts[k](row)) return false;
      return true;
    };
  }

  function some(parts) {
    if (parts.length === 1) return parts[0];
    return function (row) {
      for (var k = 0; k < parts.length; k++) if (parts[k](row)) return true;
      return false;
    };
  }

  function likeRegExp(pattern, fold) {
    if (fold) pattern = pattern.toLowerCase();
    var source = "";
    for (var ch of pattern) {  // code points, so "_" matches one character as in Python
      if (ch === "%") source += "[^]*";
      else if (ch === "_") source += "[^]";
      else source += ch.replace(/[\\^$.*+?()[\]{}|\/]/g, "\\$&");
    }
    return new RegExp("^(?:" + source + ")$", "u");
  }

  function getter(entity, key, numeric) {
    if (entity === "metrics" || (entity === "attributes" && numeric)) {
      return function (row) {
        var mapping = row[entity] || EMPTY;
        var value = hasOwn.call(mapping, key) ? mapping[key] : null;
        return typeof value === "number" ? value : null;
      };
    }
    if (entity === "attributes") {
      return function (row) {
        var mapping = row.attributes || EMPTY;
        var value = hasOwn.call(mapping, key) ? mapping[key] : null;
        if (value === null || value === undefined) return null;
        return typeof value === "string" ? value : paramText(value);
      };
    }
    var convert = numeric ? paramNumber : paramText;
    return function (row) {
      var mapping = row[entity] || EMPTY;
      return hasOwn.call(mapping, key) ? convert(mapping[key]) : null;
    };
  }

  function test(op, values) {
    var target = values[0];
    if (op === "IN" || op === "NOT IN") {
      var inside = op === "IN";
      return function (value) {
        for (var k = 0; k < values.length; k++) if (values[k] === value) return inside;
        return !inside;
      };
    }
    if (op === "LIKE") {
      var re = likeRegExp(target, false);
      return function (value) { return re.test(value); };
    }
    if (op === "ILIKE") {
      var reFold = likeRegExp(target, true);
      return function (value) { return reFold.test(value.toLowerCase()); };
    }
    switch (op) {
      case "=": return function (value) { return value === target; };
      case "!=": return function (value) { return value !== target; };
      case "<": return function (value) { return value < target; };
      case "<=": return function (value) { return value <= target; };
      case ">": return function (value) { return value > target; };
      default: return function (value) { return value >= target; };
    }
  }

  function compile(entity, key, op, values, numeric) {
    var get = getter(entity, key, numeric), check = test(op, values);
    return function (row) {
      var value = get(row);
      return value !== null && check(value);
    };
  }

  // ------------------------------------------------------------ public API

  function parse(text) {
    text = text || "";
    var parser = new Parser(text, "filter");
    if (parser.peek().kind === "end") return { text: text, matches: function () { return true; } };
    var predicate = parser.orExpr(0);
    if (parser.peek().kind === ")") {
      throw parser.fail("AND, OR or the end of the filter", parser.peek(), "unbalanced ')'");
    }
    parser.expectEnd("AND, OR or the end of the filter");
    return { text: text, matches: predicate };
  }

  var DEFAULT_ORDER = [
    { entity: "attributes", key: "start_time", ascending: false },
    { entity: "attributes", key: "run_id", ascending: true },
  ];

  function orderKey(item, index) {
    if (item !== null && typeof item === "object") return item;  // already {entity, key, ascending}
    var what = "order_by item " + index;
    if (typeof item !== "string") {
      throw ValueError(what + ": expected a string such as 'metrics.f1 DESC', found " + typeof item);
    }
    var parser = new Parser(item, what);
    var field = parser.field(), ascending = true;
    if (parser.isWord(parser.peek(), "ASC", "DESC")) ascending = parser.take().value.toUpperCase() === "ASC";
    parser.expectEnd("ASC, DESC or the end of the item");
    return { entity: field[0], key: field[1], ascending: ascending };
  }

  function parseOrderBy(items) {
    return (items || []).map(function (item, index) { return orderKey(item, index + 1); });
  }

  // Strings in code point order, as Python compares them (UTF-16 order differs above U+FFFF).
  function compareText(a, b) {
    if (a === b) return 0;
    var n = Math.min(a.length, b.length);
    for (var k = 0; k < n; k++) {
      var x = a.charCodeAt(k), y = b.charCodeAt(k);
      if (x !== y) {
        if (x >= 0xd800 && y >= 0xd800) {  // surrogates sort after U+E000..U+FFFF in code points
          x += x < 0xe000 ? 0x2000 : -0x800;
          y += y < 0xe000 ? 0x2000 : -0x800;
        }
        return x - y;
      }
    }
    return a.length - b.length;
  }

  function sortValues(rows, key) {
    if (key.entity === "metrics" || (key.entity === "attributes" && NUMBER_ATTRIBUTES.indexOf(key.key) >= 0)) {
      return rows.map(getter(key.entity, key.key, true));
    }
    if (key.entity === "attributes") return rows.map(getter("attributes", key.key, false));
    var texts = rows.map(getter(key.entity, key.key, false));
    if (key.entity === "params" || key.entity === "view") {
      // An extension over MLflow's text order: a param whose values are all numbers sorts by number.
      // So do the runs table's display-only fields (row.view: duration, source, experiment name).
      var numbers = rows.map(getter("params", key.key, true));
      if (numbers.every(function (n, k) { return (n === null) === (texts[k] === null); })) return numbers;
    }
    return texts;
  }

  // `presorted`: the rows are in the default order already, so the sorts by its keys can be left out.
  function sortRows(rows, orderBy, presorted) {
    var keys = parseOrderBy(orderBy);
    if (!presorted) keys = keys.concat(DEFAULT_ORDER);  // ties go by start_time DESC, then run_id
    var sorted = Array.prototype.slice.call(rows);
    for (var k = keys.length - 1; k >= 0; k--) {  // successive stable sorts, least significant key first
      var key = keys[k], values = sortValues(sorted, key);
      var present = [], nans = [], missing = [];
      for (var r = 0; r < sorted.length; r++) {
        var value = values[r];
        if (value === null) missing.push(sorted[r]);
        else if (value !== value) nans.push(sorted[r]);
        else present.push([value, sorted[r]]);
      }
      var sign = key.ascending ? 1 : -1;
      present.sort(function (a, b) {
        var c = typeof a[0] === "string" ? compareText(a[0], b[0]) : (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
        return sign * c;
      });
      sorted = present.map(function (pair) { return pair[1]; }).concat(nans, missing);
    }
    return sorted;
  }

  var SPECIAL_NUMBERS = { NaN: NaN, Infinity: Infinity, "-Infinity": -Infinity };

  function reviveRow(row) {
    var metrics = row.metrics;
    if (metrics) {
      for (var name in metrics) {
        if (hasOwn.call(metrics, name) && typeof metrics[name] === "string" && hasOwn.call(SPECIAL_NUMBERS, metrics[name])) {
          metrics[name] = SPECIAL_NUMBERS[metrics[name]];
        }
      }
    }
    return row;
  }

  // Keys in natural order, as logger/values.py natural_key lists them: digit runs compare as numbers (by length
  // without leading zeros, then digit by digit), the rest without case, then the keys themselves.
  function naturalCompare(a, b) {
    var pa = a.split(/(\d+)/), pb = b.split(/(\d+)/), n = Math.min(pa.length, pb.length);
    for (var i = 0; i < n; i++) {
      var x = pa[i], y = pb[i];
      if (i % 2) {
        x = x.replace(/^0+/, "");
        y = y.replace(/^0+/, "");
        if (x.length !== y.length) return x.length - y.length;
      } else {
        x = x.toLowerCase();
        y = y.toLowerCase();
      }
      if (x !== y) return compareText(x, y);
    }
    return pa.length !== pb.length ? pa.length - pb.length : compareText(a, b);
  }

  return {
    parse: parse,
    sortRows: sortRows,
    paramText: paramText,
    formatNumber: formatNumber,
    reviveRow: reviveRow,
    naturalCompare: naturalCompare,
  };
});
