# switchyard_add_codec_plugin(<name> SOURCES <src>... [LIBS <lib>...]
#                             [OUTPUT_DIRECTORY <dir>] [INSTALL_DESTINATION <dir>] [NO_INSTALL]
#                             [COMPONENT <install-component>] [TARGET <out-var>])
#
# Builds codec plugin <name> as a loadable module named switchyard_codec_<name>.so ('-' in the
# name becomes '_' in file and target names: "length-field" -> switchyard_codec_length_field.so),
# which the daemon finds when a config says `codec: {plugin: <name>}` and the file lies in its
# plugin_dir. Only the entry symbol is exported (hidden visibility for everything else).
#   LIBS                 extra libraries to link privately (e.g. a static helper library)
#   OUTPUT_DIRECTORY     where the .so is built (default: CMake's default for the directory)
#   INSTALL_DESTINATION  install dir (default: ${CMAKE_INSTALL_LIBDIR}/switchyard/plugins, which
#                        is where the built-in codecs live when installed with the same prefix)
#   NO_INSTALL           build only (test fixtures)
#   COMPONENT            install component (default: CMake's default component)
#   TARGET               variable that receives the CMake target name
# Used for the built-in codecs in the Switchyard tree and installed with the SDK
# (find_package(Switchyard) includes it).
include_guard(GLOBAL)
include(GNUInstallDirs)

function(switchyard_add_codec_plugin name)
  cmake_parse_arguments(ARG "NO_INSTALL" "OUTPUT_DIRECTORY;INSTALL_DESTINATION;COMPONENT;TARGET"
                        "SOURCES;LIBS" ${ARGN})
  if(NOT ARG_SOURCES)
    message(FATAL_ERROR "switchyard_add_codec_plugin(${name}): SOURCES is required")
  endif()
  string(REPLACE "-" "_" file_stem "${name}")
  set(target switchyard_codec_${file_stem})
  add_library(${target} MODULE ${ARG_SOURCES})
  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME switchyard_codec_${file_stem}
    SUFFIX ".so"
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON)
  target_link_libraries(${target} PRIVATE switchyard::codec_abi ${ARG_LIBS})
  if(ARG_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY "${ARG_OUTPUT_DIRECTORY}")
  endif()
  if(NOT ARG_NO_INSTALL)
    if(NOT ARG_INSTALL_DESTINATION)
      set(ARG_INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/switchyard/plugins)
    endif()
    if(ARG_COMPONENT)
      install(TARGETS ${target} LIBRARY DESTINATION "${ARG_INSTALL_DESTINATION}"
              COMPONENT ${ARG_COMPONENT})
    else()
      install(TARGETS ${target} LIBRARY DESTINATION "${ARG_INSTALL_DESTINATION}")
    endif()
  endif()
  if(ARG_TARGET)
    set(${ARG_TARGET} ${target} PARENT_SCOPE)
  endif()
endfunction()
