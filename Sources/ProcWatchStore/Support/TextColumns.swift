/// The columns of the line-per-row listings (`history`, `hosts`): padded to a width, never
/// cut (a longer value widens its line; a listing's lines are copied whole, not read by eye only).
package enum TextColumns {
    /// Left-aligned in `width` characters.
    package static func left(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
    }

    /// Right-aligned in `width` characters.
    package static func right(_ text: String, _ width: Int) -> String {
        text.count >= width ? text : String(repeating: " ", count: width - text.count) + text
    }
}
