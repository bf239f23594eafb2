/// Identifies a registered watcher; `remove()` unregisters it.
public struct WatcherHandle: Sendable, Hashable {
    /// A number unique among the watchers of one registry.
    public let id: Int
    let registry: WeakRegistry

    /// Unregisters the watcher. Removing twice does nothing.
    public func remove() { registry.value?.remove(self) }

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.id == rhs.id && lhs.registry.value === rhs.registry.value }
    public func hash(into hasher: inout Hasher) { hasher.combine(id) }
}

/// A weak reference to a registry, so a handle does not keep it alive.
final class WeakRegistry: Sendable {
    nonisolated(unsafe) weak var value: ProcessWatchers?
    init(_ value: ProcessWatchers) { self.value = value }
}
