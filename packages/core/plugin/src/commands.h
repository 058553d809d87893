/* Node's commands (reader thread). */
#ifndef QF_COMMANDS_H
#define QF_COMMANDS_H

/* Runs one command line `<id> <verb> [words]` and replies to it. */
void handle_command(char *line);

#endif
