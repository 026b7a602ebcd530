# HeapgapTest: run CTest tests under `heapgap run`, failing them when they leak.
#
#   list(APPEND CMAKE_MODULE_PATH <heapgap source>/cmake)
#   include(HeapgapTest)
#   heapgap_add_test(NAME parser_leaks COMMAND parser_test --quick)
#   heapgap_add_tests_for(TARGETS parser_test lexer_test FAIL_ON definite,indirect,possible)
#
# heapgap_add_test(NAME <name> COMMAND <program> [<arg>...]
#                  [FAIL_ON <kinds>]            default definite,indirect
#                  [FAIL_ABOVE_BYTES <n>] [FAIL_ABOVE_BLOCKS <n>]
#                  [SUPPRESSIONS <file>...] [NO_DEFAULT_SUPPRESSIONS]
#                  [BASELINE <trace, directory or JSON report>] [PEAK_TOLERANCE <pct>]
#                  [JUNIT <file>] [SARIF <file>]
#                  [OUTPUT_DIR <dir>]           default <binary dir>/heapgap/<name>
#                  [WORKING_DIRECTORY <dir>]
#                  [HEAPGAP_ARGS <arg>...])     passed to `heapgap run` as they are
#   Adds test <name>: `heapgap run -o <dir>/ --fail-on <kinds> ... -- <program> <args>`.
#   The test fails when the program fails, or when the gate does (exit status
#   99, with one line "heapgap: gate failed: ..." on stderr). A <program> that
#   names a target of this project runs that target's executable. Every
#   process the test starts (fork and exec children included) is traced into
#   <dir> and checked; the traces stay there for `heapgap report <dir>`.
#
# heapgap_add_tests_for(TARGETS <target>... [PREFIX <prefix>] [options as above])
#   One heapgap_add_test per executable target, named <prefix><target>
#   (default prefix "heapgap."), running the target without arguments.
#
# The heapgap command is ${HEAPGAP_EXECUTABLE}: the `heapgap` target when this
# project builds heapgap itself, else the program found on PATH.

if(NOT DEFINED HEAPGAP_EXECUTABLE)
  if(TARGET heapgap)
    set(HEAPGAP_EXECUTABLE "$<TARGET_FILE:heapgap>")
  else()
    find_program(HEAPGAP_EXECUTABLE_PATH heapgap)
    if(NOT HEAPGAP_EXECUTABLE_PATH)
      message(FATAL_ERROR "HeapgapTest: no heapgap command found; set HEAPGAP_EXECUTABLE")
    endif()
    set(HEAPGAP_EXECUTABLE "${HEAPGAP_EXECUTABLE_PATH}")
  endif()
endif()

set(_HEAPGAP_ONE_VALUE FAIL_ON FAIL_ABOVE_BYTES FAIL_ABOVE_BLOCKS BASELINE PEAK_TOLERANCE
    JUNIT SARIF OUTPUT_DIR WORKING_DIRECTORY)
set(_HEAPGAP_MULTI_VALUE SUPPRESSIONS HEAPGAP_ARGS)

function(heapgap_add_test)
  cmake_parse_arguments(PARSE_ARGV 0 HG "NO_DEFAULT_SUPPRESSIONS"
    "NAME;${_HEAPGAP_ONE_VALUE}" "COMMAND;${_HEAPGAP_MULTI_VALUE}")
  if(NOT HG_NAME OR NOT HG_COMMAND)
    message(FATAL_ERROR "heapgap_add_test: NAME and COMMAND are required")
  endif()
  if(HG_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "heapgap_add_test(${HG_NAME}): unknown arguments ${HG_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT HG_OUTPUT_DIR)
    set(HG_OUTPUT_DIR "${CMAKE_CURRENT_BINARY_DIR}/heapgap/${HG_NAME}")
  endif()
  if(NOT HG_FAIL_ON)
    set(HG_FAIL_ON "definite,indirect")
  endif()
  list(POP_FRONT HG_COMMAND program)
  if(TARGET "${program}")
    set(program "$<TARGET_FILE:${program}>")
  endif()

  set(run_args run -o "${HG_OUTPUT_DIR}/" --fail-on "${HG_FAIL_ON}")
  if(DEFINED HG_FAIL_ABOVE_BYTES)
    list(APPEND run_args --fail-above-bytes "${HG_FAIL_ABOVE_BYTES}")
  endif()
  if(DEFINED HG_FAIL_ABOVE_BLOCKS)
    list(APPEND run_args --fail-above-blocks "${HG_FAIL_ABOVE_BLOCKS}")
  endif()
  foreach(file IN LISTS HG_SUPPRESSIONS)
    list(APPEND run_args --suppressions "${file}")
  endforeach()
  if(HG_NO_DEFAULT_SUPPRESSIONS)
    list(APPEND run_args --no-default-suppressions)
  endif()
  if(HG_BASELINE)
    list(APPEND run_args --baseline "${HG_BASELINE}")
  endif()
  if(DEFINED HG_PEAK_TOLERANCE)
    list(APPEND run_args --peak-tolerance "${HG_PEAK_TOLERANCE}")
  endif()
  if(HG_JUNIT)
    list(APPEND run_args --junit "${HG_JUNIT}")
  endif()
  if(HG_SARIF)
    list(APPEND run_args --sarif "${HG_SARIF}")
  endif()
  list(APPEND run_args ${HG_HEAPGAP_ARGS})

  set(working_directory)
  if(HG_WORKING_DIRECTORY)
    set(working_directory WORKING_DIRECTORY "${HG_WORKING_DIRECTORY}")
  endif()
  add_test(NAME "${HG_NAME}"
           COMMAND "${HEAPGAP_EXECUTABLE}" ${run_args} -- "${program}" ${HG_COMMAND}
           ${working_directory})
  set_property(TEST "${HG_NAME}" APPEND PROPERTY LABELS heapgap)
endfunction()

function(heapgap_add_tests_for)
  cmake_parse_arguments(PARSE_ARGV 0 HG "NO_DEFAULT_SUPPRESSIONS"
    "PREFIX;${_HEAPGAP_ONE_VALUE}" "TARGETS;${_HEAPGAP_MULTI_VALUE}")
  if(NOT HG_TARGETS)
    message(FATAL_ERROR "heapgap_add_tests_for: TARGETS is required")
  endif()
  if(NOT DEFINED HG_PREFIX)
    set(HG_PREFIX "heapgap.")
  endif()
  set(forwarded)
  foreach(option IN LISTS _HEAPGAP_ONE_VALUE)
    if(DEFINED HG_${option} AND NOT option STREQUAL "OUTPUT_DIR")
      list(APPEND forwarded ${option} "${HG_${option}}")
    endif()
  endforeach()
  foreach(option IN LISTS _HEAPGAP_MULTI_VALUE)
    if(HG_${option})
      list(APPEND forwarded ${option} ${HG_${option}})
    endif()
  endforeach()
  if(HG_NO_DEFAULT_SUPPRESSIONS)
    list(APPEND forwarded NO_DEFAULT_SUPPRESSIONS)
  endif()
  foreach(target IN LISTS HG_TARGETS)
    heapgap_add_test(NAME "${HG_PREFIX}${target}" COMMAND "${target}" ${forwarded})
  endforeach()
endfunction()
