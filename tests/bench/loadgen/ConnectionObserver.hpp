#pragma once
// What a client connection asks of the thread that owns it. Kept apart from ClientWorker so a
// connection knows nothing of how connections are scheduled.
namespace switchyard::loadgen {

class ConnectionObserver {
public:
    // True inside the measured window: echoes are counted and their latency recorded.
    // Thread rule: loop thread only.
    virtual bool measuring() const = 0;

    // True once the run is ending: errors from closing sockets are not counted.
    // Thread rule: loop thread only.
    virtual bool stopping() const = 0;

    // Called exactly once per connection: after its first verified echo (established = true),
    // or when it failed before that. Thread rule: loop thread only.
    virtual void on_settled(bool established) = 0;

protected:
    ~ConnectionObserver() = default;
};

}  // namespace switchyard::loadgen
