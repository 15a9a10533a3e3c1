#include "core/codec/Codec.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>
#include <filesystem>
#include <system_error>

#include "core/codec/CodecLibraryCache.hpp"
#include "core/options/Suggest.hpp"
#include "core/codec/PluginPaths.hpp"

namespace switchyard {
namespace {

// Plugins write their reason for refusing options here; longer messages are truncated.
constexpr std::size_t kCreateErrorCapacity = 1024;

SourceMark option_mark(const CodecOptions& opts, const std::string& key) {
    if (auto it = opts.option_marks.find(key); it != opts.option_marks.end()) return it->second;
    SourceMark mark = opts.mark;
    mark.path = mark.path.empty() ? key : mark.path + "." + key;
    return mark;
}

SourceMark plugin_mark(const CodecOptions& opts) { return option_mark(opts, "plugin"); }

std::string join(const std::vector<std::string>& items, const char* separator) {
    std::string out;
    for (const std::string& item : items) {
        if (!out.empty()) out += separator;
        out += item;
    }
    return out;
}

// Resolves opts.plugin to a file, or explains why it cannot.
std::string find_plugin_file(const CodecOptions& opts, const std::string& plugin_dir,
                             std::string* problem) {
    const std::string& plugin = opts.plugin;
    if (plugin.empty()) {
        *problem = "codec needs a plugin name (e.g. plugin: line)";
        return {};
    }
    if (plugin.find('/') != std::string::npos) {
        std::error_code ec;
        if (plugin.front() != '/')
            *problem = "codec plugin path \"" + plugin +
                       "\" must be absolute (or a bare name looked up in plugin_dir)";
        else if (!std::filesystem::is_regular_file(plugin, ec))
            *problem = "codec plugin file " + plugin + " does not exist";
        else
            return plugin;
        return {};
    }
    const PluginPaths paths(plugin_dir);
    if (auto found = paths.find(plugin)) return *found;
    *problem = "codec plugin \"" + plugin + "\" not found: looked for " +
               join(PluginPaths::file_names(plugin), ", ") + " in " +
               (paths.dirs().empty() ? std::string("(no plugin directory configured)")
                                     : join(paths.dirs(), ", ")) +
               " (set plugin_dir or SWITCHYARD_PLUGIN_DIR)";
    return {};
}

// Host-side checks before create(): unknown and missing required options. All reported.
bool options_acceptable(const CodecOptions& opts, const CodecLibrary& library,
                        std::vector<ConfigError>* errors) {
    bool ok = true;
    const std::vector<std::string> known = library.option_names();
    for (const auto& [key, value] : opts.options) {
        if (library.find_option(key) != nullptr) continue;
        ok = false;
        std::string message = "unknown option for codec " + library.name();
        if (auto guess = suggest(key, std::span<const std::string>(known)))
            message += did_you_mean(guess);
        else
            message += known.empty() ? std::string(" (it takes no options)")
                                     : " (known options: " + join(known, ", ") + ")";
        errors->push_back(ConfigError{option_mark(opts, key), message});
    }
    const swy_codec_descriptor& d = library.descriptor();
    for (std::size_t i = 0; i < d.option_count; ++i) {
        if (d.options[i].default_value != nullptr) continue;
        bool given = false;
        for (const auto& option : opts.options) given = given || option.first == d.options[i].name;
        if (given) continue;
        ok = false;
        std::string message = "codec " + library.name() + " needs option " + d.options[i].name;
        if (d.options[i].help != nullptr) message += std::string(" (") + d.options[i].help + ")";
        errors->push_back(ConfigError{opts.mark, message});
    }
    return ok;
}

// Where the plugin's create() message points: the option it starts with ("<key>: ..."), if any.
// That prefix is dropped from the message, since the error's path already names the option.
ConfigError create_error(const CodecOptions& opts, const std::string& codec,
                         const std::string& message) {
    for (const auto& option : opts.options) {
        const std::string& key = option.first;
        if (message.size() > key.size() && message.compare(0, key.size(), key) == 0 &&
            message[key.size()] == ':') {
            std::size_t rest = key.size() + 1;
            while (rest < message.size() && message[rest] == ' ') ++rest;
            return ConfigError{option_mark(opts, key),
                               "rejected by codec " + codec + ": " + message.substr(rest)};
        }
    }
    return ConfigError{opts.mark, "rejected by codec " + codec + ": " + message};
}

void write_reason(char* reason, std::size_t reason_cap, const char* text) {
    swy_codec_set_error(reason, reason_cap, text);
}

}  // namespace

std::shared_ptr<const Codec> Codec::open(const CodecOptions& opts, const std::string& plugin_dir,
                                         std::vector<ConfigError>* errors, const PluginTrust* trust) {
    std::string problem;
    const std::string file = find_plugin_file(opts, plugin_dir, &problem);
    if (file.empty()) {
        errors->push_back(ConfigError{plugin_mark(opts), problem});
        return nullptr;
    }
    if (trust) {
        if (std::string untrusted = trust->problem(file); !untrusted.empty()) {
            if (!trust->allow_writable) {
                errors->push_back(ConfigError{
                    plugin_mark(opts), "refusing codec plugin " + file + ": " + untrusted +
                                           "; whoever can write it can run code inside this daemon (make it and "
                                           "its directory writable by root or the daemon's user only, or set "
                                           "allow_writable_plugins: true)"});
                return nullptr;
            }
            spdlog::warn("codec plugin {}: {}; loading it anyway (allow_writable_plugins: true)", file, untrusted);
        }
    }
    CodecLibrary::Failure failure{};
    auto library = CodecLibraryCache::process().load(file, &failure, &problem);
    if (!library) {
        errors->push_back(ConfigError{plugin_mark(opts), problem});
        return nullptr;
    }
    if (!options_acceptable(opts, *library, errors)) return nullptr;

    std::vector<swy_codec_option> options;
    options.reserve(opts.options.size());
    for (const auto& [key, value] : opts.options)
        options.push_back(swy_codec_option{key.c_str(), value.c_str()});
    char error[kCreateErrorCapacity] = {};
    const swy_codec_descriptor& d = library->descriptor();
    swy_codec_instance* instance = d.create(options.data(), options.size(), error, sizeof error);
    if (instance == nullptr) {
        error[sizeof error - 1] = '\0';
        const std::string message = error[0] != '\0' ? error : "create failed without a reason";
        errors->push_back(create_error(opts, library->name(), message));
        return nullptr;
    }

    // Declared defaults plus what was given: two blocks that differ only by spelling out a
    // default frame identically.
    std::map<std::string, std::string> effective;
    for (std::size_t i = 0; i < d.option_count; ++i)
        if (d.options[i].default_value != nullptr)
            effective[d.options[i].name] = d.options[i].default_value;
    for (const auto& [key, value] : opts.options) effective[key] = value;
    return std::make_shared<const Codec>(Passkey{}, std::move(library), instance,
                                         std::move(effective));
}

Codec::Codec(Passkey, std::shared_ptr<const CodecLibrary> library, swy_codec_instance* instance,
             std::map<std::string, std::string> effective_options)
    : decode_(library->descriptor().decode),
      encode_(library->descriptor().encode),
      decode_end_(library->descriptor().decode_end),
      instance_(instance),
      library_(std::move(library)),
      effective_options_(std::move(effective_options)) {
    const swy_codec_descriptor& d = library_->descriptor();
    swy_codec_instance_info info{sizeof(swy_codec_instance_info), d.capabilities, d.max_header,
                                 d.max_trailer};
    if (d.instance_info != nullptr) {
        d.instance_info(instance_, &info);
        info.capabilities &= d.capabilities;  // an instance cannot do more than its plugin
    }
    max_header_ = info.max_header;
    max_trailer_ = info.max_trailer;
    can_encode_ = (info.capabilities & SWY_CODEC_CAP_ENCODE) != 0 && encode_ != nullptr;
}

Codec::~Codec() {
    library_->descriptor().destroy(const_cast<swy_codec_instance*>(instance_));
}

bool Codec::same_framing(const Codec& other) const {
    return library_ == other.library_ && effective_options_ == other.effective_options_;
}

DecodedFrame Codec::broken_frame(char* reason, std::size_t reason_cap) {
    write_reason(reason, reason_cap,
                 "codec plugin bug: frame bounds lie outside the data it was given");
    return DecodedFrame{DecodeStatus::malformed, 0, 0, 0};
}

DecodedFrame Codec::datagram_cut_short(char* reason, std::size_t reason_cap) {
    write_reason(reason, reason_cap, "datagram ends inside a frame");
    return DecodedFrame{DecodeStatus::malformed, 0, 0, 0};
}

DecodedFrame Codec::rejected(swy_decode_status status, char* reason, std::size_t reason_cap) {
    if (reason_cap > 0) reason[reason_cap - 1] = '\0';
    if (status == SWY_DECODE_TOO_LARGE) {
        if (reason_cap > 0 && reason[0] == '\0') write_reason(reason, reason_cap, "frame too large");
        return DecodedFrame{DecodeStatus::too_large, 0, 0, 0};
    }
    if (status != SWY_DECODE_MALFORMED) {
        if (reason_cap > 0)
            std::snprintf(reason, reason_cap, "codec plugin bug: unknown decode status %d",
                          static_cast<int>(status));
    } else if (reason_cap > 0 && reason[0] == '\0') {
        write_reason(reason, reason_cap, "malformed frame");
    }
    return DecodedFrame{DecodeStatus::malformed, 0, 0, 0};
}

bool Codec::cannot_encode(char* reason, std::size_t reason_cap) {
    write_reason(reason, reason_cap, "this codec configuration cannot encode");
    return false;
}

bool Codec::encode_failed(char* reason, std::size_t reason_cap) {
    if (reason_cap > 0) {
        reason[reason_cap - 1] = '\0';
        if (reason[0] == '\0') write_reason(reason, reason_cap, "encode failed");
    }
    return false;
}

bool Codec::broken_encode(std::size_t* header_len, std::size_t* trailer_len, char* reason,
                          std::size_t reason_cap) {
    *header_len = 0;
    *trailer_len = 0;
    write_reason(reason, reason_cap, "codec plugin bug: header or trailer larger than declared");
    return false;
}

}  // namespace switchyard
