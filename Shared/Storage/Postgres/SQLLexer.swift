/// Finds the parts of SQL text that are code, outside quoted literals, quoted identifiers,
/// dollar-quoted strings and comments, to rewrite placeholders and split scripts for PostgreSQL.
enum SQLLexer {
  /// Returns `sql` with each `?` in code replaced by the next `$1`, `$2`, ….
  static func renumber(_ sql: String) -> String {
    guard sql.contains("?") else { return sql }
    var output = ""
    output.reserveCapacity(sql.utf8.count + 8)
    var number = 0
    scan(sql) { character, isCode in
      if isCode, character == "?" {
        number += 1
        output += "$\(number)"
      } else {
        output.append(character)
      }
    }
    return output
  }

  /// Splits a script at the `;` in code, dropping statements that hold only whitespace and comments.
  static func statements(_ sql: String) -> [String] {
    var statements: [String] = []
    var current = ""
    var hasCode = false
    scan(sql) { character, isCode in
      if isCode, character == ";" {
        if hasCode { statements.append(current) }
        current = ""
        hasCode = false
      } else {
        current.append(character)
        hasCode = hasCode || (isCode && !character.isWhitespace)
      }
    }
    if hasCode { statements.append(current) }
    return statements
  }

  /// An `INSERT … VALUES (…) …` of one row, split so that a batch can send many rows in one
  /// statement: `head` is everything up to the row, `row` is the parenthesised row cut at its
  /// `?` placeholders (one piece more than it has), `tail` is the rest (`ON CONFLICT …`).
  ///
  /// `nil` for any other statement, for one with a `?` outside the row, and for `ON CONFLICT …
  /// DO UPDATE`, which may not touch a row twice in one statement as separate runs may.
  static func insertRow(_ sql: String) -> (head: String, row: [String], tail: String)? {
    var head = ""
    var row = [""]
    var tail = ""
    var code = ""  // the code of the head and the tail, upper-cased, for keywords
    var depth = 0
    var part = 0  // 0: head, 1: row, 2: tail
    var placeholdersOutside = false
    scan(sql) { character, isCode in
      switch part {
      case 0:
        if isCode, character == "(", code.split(whereSeparator: \.isWhitespace).last == "VALUES" {
          part = 1
          depth = 1
          row[0].append(character)
          return
        }
        head.append(character)
      case 1:
        if isCode, character == "?" {
          row.append("")
          return
        }
        row[row.count - 1].append(character)
        if isCode, character == "(" { depth += 1 }
        if isCode, character == ")" { depth -= 1 }
        if depth == 0 { part = 2 }
        return
      default:
        tail.append(character)
      }
      if isCode {
        code += character.uppercased()
        placeholdersOutside = placeholdersOutside || character == "?"
      }
    }
    let rest = tail.uppercased().split(whereSeparator: \.isWhitespace).joined(separator: " ")
    guard part == 2, code.split(whereSeparator: \.isWhitespace).first == "INSERT", !placeholdersOutside,
      !rest.hasPrefix(","), !rest.contains("DO UPDATE")
    else { return nil }
    return (head, row, tail)
  }

  /// Calls `visit` with every character of `sql`, and whether it is code.
  private static func scan(_ sql: String, _ visit: (Character, _ isCode: Bool) -> Void) {
    var closing: Substring?  // what ends the literal or comment we are in, if any
    var index = sql.startIndex
    while index < sql.endIndex {
      let rest = sql[index...]
      var token = rest.prefix(1)
      if let end = closing {
        if rest.hasPrefix(end) {
          token = rest.prefix(end.count)
          closing = nil
        }
      } else if let (opener, closer) = opener(at: rest) {
        token = opener
        closing = closer
      } else {
        visit(rest.first!, true)
        index = sql.index(after: index)
        continue
      }
      token.forEach { visit($0, false) }
      index = token.endIndex
    }
  }

  /// The literal or comment opening at the start of `text`, and the text that closes it.
  private static func opener(at text: Substring) -> (Substring, Substring)? {
    for (open, close) in [("'", "'"), ("\"", "\""), ("--", "\n"), ("/*", "*/")] where text.hasPrefix(open) {
      return (text.prefix(open.count), close[...])
    }
    // A dollar quote: `$$` or `$tag$` (but `$1` is a parameter).
    guard text.first == "$" else { return nil }
    let tag = text.dropFirst().prefix(while: { $0.isLetter || $0.isNumber || $0 == "_" })
    guard tag.first?.isNumber != true, text.dropFirst(1 + tag.count).first == "$" else { return nil }
    let quote = text.prefix(tag.count + 2)
    return (quote, quote)
  }
}
