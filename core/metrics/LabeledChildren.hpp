#pragma once
// The children of a family, one per set of label values, each with its label text rendered once
// at creation so a scrape only concatenates. Children are created on first use under a mutex
// (start-up or first use, never the per-packet path: callers keep the returned reference) and
// live as long as the family, so references stay valid.
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace switchyard::metrics {

template <class Child>
class LabeledChildren {
public:
    // The child for `values`, made by make() on first use. Any thread; takes the mutex.
    template <class Make, class Render>
    Child& get_or_create(const std::vector<std::string>& values, Make make, Render render) {
        std::lock_guard lock(mutex_);
        auto found = children_.find(values);
        if (found != children_.end()) return *found->second.child;
        Entry entry{render(values), make()};
        Child& child = *entry.child;
        children_.emplace(values, std::move(entry));
        return child;
    }

    // Calls fn(label_text, child) for every child in label-value order, holding the mutex.
    // Any thread.
    template <class Fn>
    void for_each(Fn fn) const {
        std::lock_guard lock(mutex_);
        for (const auto& [values, entry] : children_) fn(entry.label_text, *entry.child);
    }

    // Any thread.
    std::size_t size() const {
        std::lock_guard lock(mutex_);
        return children_.size();
    }

private:
    struct Entry {
        std::string label_text;  // `a="x",b="y"`, escaped, no braces
        std::unique_ptr<Child> child;
    };
    mutable std::mutex mutex_;
    std::map<std::vector<std::string>, Entry> children_;
};

}  // namespace switchyard::metrics
