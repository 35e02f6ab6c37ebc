/*
 * master - reads the configuration, binds the listening sockets, starts the
 * services, restarts one that dies, reloads and stops cleanly.
 */
#ifndef POSTIE_MASTER_MASTER_H
#define POSTIE_MASTER_MASTER_H

int master_serve_main(int argc, char **argv);
int master_start_main(int argc, char **argv);
int master_stop_main(int argc, char **argv);
int master_status_main(int argc, char **argv);
int master_reload_main(int argc, char **argv);
int master_service_main(int argc, char **argv);

#endif
